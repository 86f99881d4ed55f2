"""`GET /v1/models`: every served model with its context length and input modalities.

A LoRA adapter is listed as its own model with `parent` set to its base model
(as vLLM lists adapters): static ones always, dynamic ones on the replica that
holds them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
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


def adapter_card(plan: ModelPlan, name: str, root: str, created: int) -> dict[str, Any]:
    """An adapter of `plan`'s model: the base's card under the adapter's name and parent."""
    return {**model_card(plan, created), "id": name, "root": root, "parent": plan.name}


def plan_cards(plan: ModelPlan, created: int, dynamic: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The model's card, its static adapters', then the `dynamic` adapters named."""
    cards = [model_card(plan, created)]
    if plan.lora is not None:
        cards += [adapter_card(plan, a.name, a.source, created) for a in plan.lora.adapters]
        root = plan.lora.directory or ""
        cards += [adapter_card(plan, name, f"{root}/{name}", created) for name in dynamic]
    return cards


def cards_body(plans: list[ModelPlan], dynamic: Sequence[str] = ()) -> bytes:
    """The `/v1/models` response body for these models (with `dynamic` adapters of the first)."""
    created = int(time.time())
    data = [
        card for i, p in enumerate(plans) for card in plan_cards(p, created, () if i else dynamic)
    ]
    return json.dumps({"object": "list", "data": data}).encode()


class ModelCards:
    """Answer `GET /v1/models` from the plan; pass everything else on."""

    def __init__(
        self,
        app: Any,
        *,
        plans: list[ModelPlan],
        dynamic: Callable[[], list[str]] | None = None,
    ) -> None:
        self.app = app
        self._plans = plans
        self._dynamic = dynamic
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
            body = cards_body(self._plans, self._dynamic()) if self._dynamic else self._body
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
