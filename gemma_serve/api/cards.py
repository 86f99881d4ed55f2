"""`GET /v1/models`: every served model with its context length and input modalities."""

from __future__ import annotations

import json
import time
from typing import Any

from gemma_serve.planner import ModelPlan


def model_card(plan: ModelPlan, created: int | None = None) -> dict[str, Any]:
    """An OpenAI model object plus what a Gemma client needs to know, from the plan."""
    return {
        "id": plan.name,
        "object": "model",
        "created": created if created is not None else int(time.time()),
        "owned_by": "gemma-serve",
        "root": plan.source,
        "parent": None,
        "max_model_len": plan.max_model_len,
        "max_output_tokens": plan.max_output_tokens,
        "input_modalities": plan.images.input_modalities,
        "output_modalities": ["text"],
        "flavour": plan.flavour,
    }


def cards_body(plans: list[ModelPlan]) -> bytes:
    """The `/v1/models` response body for these models."""
    created = int(time.time())
    return json.dumps({"object": "list", "data": [model_card(p, created) for p in plans]}).encode()


class ModelCards:
    """Answer `GET /v1/models` from the plan; pass everything else on."""

    def __init__(self, app: Any, *, plans: list[ModelPlan]) -> None:
        self.app = app
        self._body = cards_body(plans)

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
