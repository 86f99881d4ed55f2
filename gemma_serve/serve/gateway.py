"""The ingress of a multi-model deployment: route each request by its `model` field.

With one model, the model's own replicas are the ingress and this hop does not
exist. With several, the gateway reads the body once, picks the model's
deployment and streams the replica's ASGI messages back. Replica choice is the
deployment's Ray Serve request router (prefix-aware and load-aware when a model
has several replicas), which sees the prompt through the routing hint.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from gemma_serve.api.adapters import ADMIN_PATHS
from gemma_serve.api.body import read_body
from gemma_serve.api.errors import send_error
from gemma_serve.api.validation import require_model
from gemma_serve.errors import GemmaServeError, ModelNotFound, RequestError
from gemma_serve.serve.adapter_routes import AdapterRoutes, broadcast_http


def routing_hint(body: dict[str, Any]) -> SimpleNamespace:
    """What Ray's PrefixCacheAffinityRouter reads: a `messages` or else a `prompt` attribute.

    Only the one the request has is set: the router takes the first attribute it finds.
    """
    if body.get("messages") is not None:
        return SimpleNamespace(messages=body["messages"])
    prompt = body.get("prompt")
    return SimpleNamespace(prompt=prompt if isinstance(prompt, str | list) else "")


@serve.ingress()
class Gateway:
    """Pure-ASGI router over model deployments; `/v1/models`, `/health`, `/metrics` merged."""

    def __init__(
        self, models: dict[str, DeploymentHandle], cards: str, routes: dict[str, Any] | None = None
    ) -> None:
        self._models = {name: h.options(stream=True) for name, h in models.items()}
        self._unary = models
        self._cards_body = cards.encode()
        # Requests naming a LoRA adapter: which model, and Ray's multiplexed id for affinity.
        self._routes = AdapterRoutes.model_validate(
            routes or {"models": list(models), "static": {}, "dynamic": None, "affinity": False}
        )

    async def __serve_build_asgi_app__(self) -> Any:
        return _Asgi3(self._asgi)

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            if scope["method"] == "POST" and scope["path"] in ADMIN_PATHS:
                await self._adapter_admin(scope, receive, send)
            elif scope["method"] == "POST":
                await self._forward(scope, receive, send)
            elif scope["path"] == "/v1/models":
                await _send_json(send, 200, self._cards_body)
            elif scope["path"] == "/health":
                await self._health(send)
            elif scope["path"] == "/metrics":
                await self._metrics(send)
            else:
                await _send_json(send, 404, b'{"detail":"Not Found"}')
        except GemmaServeError as exc:
            await send_error(send, exc)

    async def _forward(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        require_model(body)
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            raise RequestError("request body is not valid JSON") from None
        name = parsed.get("model") if isinstance(parsed, dict) else None
        route = self._routes.route(name) if isinstance(name, str) else None
        if route is None:
            raise ModelNotFound(f"The model `{name}` does not exist.")
        handle = self._models[route.model]
        if route.multiplexed_model_id is not None:
            handle = handle.options(multiplexed_model_id=route.multiplexed_model_id)
        stream: Any = handle.handle_http.remote(routing_hint(parsed), request_of(scope), body)
        async for message in stream:
            await send(message)

    async def _adapter_admin(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """LoRA load/unload reach every replica of the model that loads adapters by name."""
        model = self._routes.dynamic
        if model is None:
            raise RequestError("no model here loads LoRA adapters at run time (lora.directory)")
        body = await read_body(receive)
        status, headers, raw = await broadcast_http(self._unary[model], request_of(scope), body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

    async def _health(self, send: Any) -> None:
        results = await asyncio.gather(
            *(h.check_health.remote() for h in self._unary.values()), return_exceptions=True
        )
        bad = [n for n, r in zip(self._unary, results, strict=True) if isinstance(r, BaseException)]
        if bad:
            body = json.dumps({"status": "unhealthy", "models": bad}).encode()
            await _send_json(send, 503, body)
        else:
            await _send_json(send, 200, b'{"status":"ok"}')

    async def _metrics(self, send: Any) -> None:
        from gemma_serve.metrics.merge import merge_expositions

        texts = await asyncio.gather(*(h.metrics_text.remote() for h in self._unary.values()))
        body = merge_expositions(list(texts)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def request_of(scope: dict[str, Any]) -> dict[str, Any]:
    """What a replica needs of an HTTP request's scope to replay it."""
    return {
        "method": scope["method"],
        "path": scope["path"],
        "query_string": scope.get("query_string", b""),
        "headers": list(scope.get("headers", ())),
    }


class _Asgi3:
    """An ASGI 3 callable object (servers take a bare bound method for ASGI 2)."""

    def __init__(self, handler: Any) -> None:
        self._handler = handler

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self._handler(scope, receive, send)


async def _lifespan(receive: Any, send: Any) -> None:
    """Nothing to set up or tear down; acknowledge the server's lifespan events."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _send_json(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
