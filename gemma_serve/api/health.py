"""`GET /health`: 200 only when every model has a ready replica, with the counts per model.

The counts come from a `Readiness` source (in a Ray Serve deployment: the Serve
controller, `gemma_serve.serve.readiness`). Whichever replica or gateway
answers the probe, the body is the same: the whole deployment's state. A 503
also carries OpenAI's `error` object, like every other error answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReplicaCount(BaseModel):
    """How many of a model's replicas can serve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ready: int = Field(..., ge=0, description="Replicas running and healthy.")
    replicas: int = Field(..., ge=0, description="Replicas that exist (starting, running).")


#: Ready replicas per model name, asked once per probe (the source may cache).
Readiness = Callable[[], Awaitable[dict[str, ReplicaCount]]]


def health_report(models: Sequence[str], counts: dict[str, ReplicaCount]) -> tuple[int, bytes]:
    """Status and body: 200 if every model has at least one ready replica, else 503."""
    per_model = {name: counts.get(name, ReplicaCount(ready=0, replicas=0)) for name in models}
    down = [f"{name} ({c.ready} of {c.replicas})" for name, c in per_model.items() if not c.ready]
    body: dict[str, Any] = {
        "status": "unavailable" if down else "ok",
        "models": {name: c.model_dump() for name, c in per_model.items()},
    }
    if down:
        body["error"] = _error("no ready replica: " + ", ".join(down))
    return (503 if down else 200), json.dumps(body).encode()


def _error(message: str) -> dict[str, Any]:
    return {"message": message, "type": "unavailable", "param": None, "code": 503}


class HealthProbe:
    """Answer `GET /health` from `readiness`; a source that fails is a 503 saying why."""

    def __init__(self, *, models: Sequence[str], readiness: Readiness) -> None:
        self._models = list(models)
        self._readiness = readiness

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            status, body = health_report(self._models, await self._readiness())
        except Exception as exc:  # the controller may be restarting: not ready, say so
            status = 503
            message = f"replica states unavailable ({type(exc).__name__})"
            body = json.dumps({"status": "unknown", "error": _error(message)}).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
