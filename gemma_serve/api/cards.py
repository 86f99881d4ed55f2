"""`GET /v1/models` (every served model) and `GET /v1/models/{id}` (one, or 404).

Each card carries its context length and input modalities.

A LoRA adapter is listed as its own model with `parent` set to its base model
(as vLLM lists adapters): static ones always, dynamic ones on the replica that
holds them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from gemma_serve.api.paths import MODELS
from gemma_serve.errors import ModelNotFound
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


def cards(plans: list[ModelPlan], dynamic: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every card of these models (with `dynamic` adapters of the first)."""
    created = int(time.time())
    return [
        card for i, p in enumerate(plans) for card in plan_cards(p, created, () if i else dynamic)
    ]


def cards_body(plans: list[ModelPlan], dynamic: Sequence[str] = ()) -> bytes:
    """The `/v1/models` response body for these models."""
    return json.dumps({"object": "list", "data": cards(plans, dynamic)}).encode()


def card_body(plans: list[ModelPlan], model_id: str, dynamic: Sequence[str] = ()) -> bytes:
    """The `/v1/models/{id}` response body: that model's (or adapter's) card."""
    for card in cards(plans, dynamic):
        if card["id"] == model_id:
            return json.dumps(card).encode()
    raise ModelNotFound(f"The model `{model_id}` does not exist.")


class ModelCards:
    """Answer `GET /v1/models` and `GET /v1/models/{id}` from the plan; pass the rest on."""

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
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] == "GET" and path.startswith(MODELS):
            dynamic = self._dynamic() if self._dynamic else ()
            if path == MODELS:
                body = cards_body(self._plans, dynamic) if self._dynamic else self._body
            else:
                body = card_body(self._plans, path.removeprefix(MODELS + "/"), dynamic)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
