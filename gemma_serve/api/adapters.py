"""LoRA adapters at a replica's edge: requests by adapter name, and the admin endpoints.

A generation request whose `model` is an adapter is held on that adapter for
its whole life (a dynamic one is loaded on first use and cannot be evicted
under it); one naming nothing this replica serves is a 404 here, before vLLM
sees it. `POST /v1/load_lora_adapter` and `/v1/unload_lora_adapter` take
vLLM's bodies (`lora_name`, and optionally `lora_path` inside the adapter
directory) but go through the replica's cache. The edge owns their access:
they are routes of its table behind its API-key check, and closed
(`gemma_serve.api.auth.AdminClosed`) when no keys are configured.
"""

from __future__ import annotations

import json
from typing import Any

from gemma_serve.api.body import read_body, replay
from gemma_serve.api.paths import LOAD_LORA, is_admin, is_generation
from gemma_serve.errors import ModelNotFound, RequestError
from gemma_serve.serve.adapters import ReplicaAdapters


def requested_model(body: bytes) -> str | None:
    """The `model` of a JSON request body, if it names one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) else None


def admin_request(body: bytes) -> tuple[str, str | None]:
    """`lora_name` and the optional `lora_path` of an admin body (400 when malformed)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError("request body is not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("lora_name"), str):
        raise RequestError('"lora_name" (a string) is required')
    path = payload.get("lora_path")
    if path is not None and not isinstance(path, str):
        raise RequestError('"lora_path" must be a string')
    return payload["lora_name"], path or None


async def run_admin(adapters: ReplicaAdapters, path: str, body: bytes) -> dict[str, Any]:
    """Apply one admin call to this replica; the JSON answer."""
    name, source = admin_request(body)
    if path == LOAD_LORA:
        await adapters.add(name, source)
        return {"object": "lora_adapter", "id": name, "loaded": True}
    if not await adapters.remove(name):
        raise ModelNotFound(f"LoRA adapter `{name}` is not loaded")
    return {"object": "lora_adapter", "id": name, "loaded": False}


class AdapterEdge:
    """Pure ASGI: route adapter names through the replica's adapters; serve the admin calls.

    Inside the edge (its route table, keys and body limit ran), in the replica
    that owns the engine.
    """

    def __init__(self, app: Any, *, adapters: ReplicaAdapters) -> None:
        self.app = app
        self._adapters = adapters

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if is_admin(scope):
            await self._admin_call(scope, receive, send)
            return
        if not is_generation(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        name = requested_model(body)
        if name is None or name == self._adapters.base:
            await self.app(scope, replay(body, receive), send)
            return
        async with self._adapters.use(name):
            await self.app(scope, replay(body, receive), send)

    async def _admin_call(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        answer = await run_admin(self._adapters, scope["path"], await read_body(receive))
        body = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
