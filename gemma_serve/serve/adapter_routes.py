"""Which deployment serves a request's `model` when it names a LoRA adapter (the gateway's table).

Static adapters belong to the model that lists them. Any other unknown name
goes to the one model that loads adapters by name (`lora.directory`), whose
replica answers 404 if the directory has no such adapter. With affinity on,
dynamic adapters travel as Ray Serve's `multiplexed_model_id`, so the
deployment's request router prefers a replica that already holds them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.planner import ModelPlan


class AdapterRoute(BaseModel):
    """Where one request goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(..., description="The served model (deployment) to call.")
    multiplexed_model_id: str | None = Field(
        ..., description="Ray Serve's multiplexed id for affinity routing, if any."
    )


class AdapterRoutes(BaseModel):
    """The deployment's names: models, static adapters, and who loads the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[str] = Field(..., description="Served model names.")
    static: dict[str, str] = Field(..., description="Static adapter -> its model.")
    dynamic: str | None = Field(..., description="The model loading adapters by name, if any.")
    affinity: bool = Field(..., description="Whether dynamic adapters carry a multiplexed id.")

    @classmethod
    def from_plans(cls, plans: list[ModelPlan]) -> AdapterRoutes:
        """The table of a deployment (the planner allows one dynamic model per deployment)."""
        dynamic = [p for p in plans if p.lora is not None and p.lora.dynamic]
        return cls(
            models=[p.name for p in plans],
            static={a: p.name for p in plans if p.lora for a in p.lora.names},
            dynamic=dynamic[0].name if dynamic else None,
            affinity=bool(dynamic)
            and dynamic[0].lora is not None
            and dynamic[0].lora.affinity
            and dynamic[0].routing != "direct",
        )

    @classmethod
    def of_models(cls, names: list[str]) -> AdapterRoutes:
        """The table of models without adapters: each name routes to itself."""
        return cls(models=names, static={}, dynamic=None, affinity=False)

    def route(self, name: str) -> AdapterRoute | None:
        """The model serving `name` (a model or an adapter); None: nobody can."""
        if name in self.models:
            return AdapterRoute(model=name, multiplexed_model_id=None)
        if name in self.static:
            return AdapterRoute(model=self.static[name], multiplexed_model_id=None)
        if self.dynamic is not None:
            return AdapterRoute(
                model=self.dynamic, multiplexed_model_id=name if self.affinity else None
            )
        return None


#: Seconds every replica may take to load an adapter for an admin call.
ADMIN_TIMEOUT_S = 120.0


async def broadcast_http(
    handle: Any, request: dict[str, Any], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run one HTTP request on every replica of a deployment (the adapter admin calls).

    Each replica answers it through its own API (keys, errors, its cache); the
    first failure is the answer, else the first success with the replica count
    added, so a client knows the call reached all of them.
    """
    answers = await handle.broadcast("call_http", request, body).results_async(
        timeout_s=ADMIN_TIMEOUT_S
    )
    failed = [a for a in answers if a["status"] >= 400]
    status, headers, raw = (failed or answers)[0].values()
    if not failed:
        payload = {**json.loads(raw), "replicas": len(answers)}
        raw = json.dumps(payload).encode()
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
    return status, headers, raw
