"""`GET /v1/models`: every served model with its context length and input modalities."""

from __future__ import annotations

import json
import time
from typing import Any

from gemma_serve.planner.launch import ModelLaunch


def model_card(launch: ModelLaunch, created: int | None = None) -> dict[str, Any]:
    """An OpenAI model object plus what a Gemma client needs to know."""
    return {
        "id": launch.name,
        "object": "model",
        "created": created if created is not None else int(time.time()),
        "owned_by": "gemma-serve",
        "root": launch.checkpoint,
        "max_model_len": launch.max_model_len,
        "max_output_tokens": launch.max_output_tokens,
        "input_modalities": launch.input_modalities,
        "output_modalities": ["text"],
    }


class ModelCards:
    """Answer `GET /v1/models` from the plan; pass everything else on."""

    def __init__(self, app: Any, *, launches: list[ModelLaunch]) -> None:
        self.app = app
        created = int(time.time())
        cards = [model_card(launch, created) for launch in launches]
        self._body = json.dumps({"object": "list", "data": cards}).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/v1/models":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": self._body})
            return
        await self.app(scope, receive, send)
