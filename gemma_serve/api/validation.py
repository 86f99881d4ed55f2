"""Checks vLLM's OpenAI server leaves out, made before a request reaches it."""

from __future__ import annotations

import json
from typing import Any

from gemma_serve.api.body import read_body, replay
from gemma_serve.api.paths import is_model_routed
from gemma_serve.errors import RequestError


def require_model(body: bytes) -> None:
    """A request must name its model, as OpenAI's API requires.

    vLLM serves a request without `model` with whatever it runs; a client that
    forgot the field would silently talk to the wrong model once a deployment
    serves several (and the gateway could not route it). Bodies that are not
    a JSON object are left to vLLM's 400.
    """
    if b'"model"' in body:  # the common case: vLLM validates the value
        return
    try:
        payload = json.loads(body)
    except ValueError:
        return
    if isinstance(payload, dict) and "model" not in payload:
        raise RequestError('"model" is required: name the model to use (see GET /v1/models)')


class ModelRequired:
    """Pure ASGI: 400 for a request to a model-routed path without `model`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not is_model_routed(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        require_model(body)
        await self.app(scope, replay(body, receive), send)
