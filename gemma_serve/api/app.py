"""The HTTP API of one model replica: vLLM's OpenAI app plus gemma-serve's edge.

The edge layers are pure ASGI middlewares (no per-chunk work on the streaming
path), applied outermost-first: metrics, replica header, errors, API keys,
admission, body limit, required fields, LoRA adapters, flavour warning, images,
then vLLM's app.
"""

from __future__ import annotations

import json
from typing import Any

from gemma_serve.api.adapters import AdapterEdge
from gemma_serve.api.auth import ApiKeyAuth, load_api_keys
from gemma_serve.api.cards import ModelCards
from gemma_serve.api.errors import error_body, send_error
from gemma_serve.api.flavour import PretrainedChatWarning
from gemma_serve.api.images import ImageGuard
from gemma_serve.api.limits import AdmissionLimit, BodyLimit
from gemma_serve.api.paths import is_generation
from gemma_serve.api.validation import ModelRequired
from gemma_serve.config.models import ServerConfig
from gemma_serve.engine.vllm_engine import VllmEngine
from gemma_serve.errors import GemmaServeError
from gemma_serve.metrics import EdgeMetrics, EdgeMetricsMiddleware
from gemma_serve.planner import ModelPlan
from gemma_serve.serve.adapters import ReplicaAdapters

ASGIApp = Any


def build_model_api(
    engine: VllmEngine,
    plan: ModelPlan,
    server: ServerConfig,
    metrics: EdgeMetrics,
    adapters: ReplicaAdapters | None = None,
) -> ASGIApp:
    """vLLM's app for `engine`, wrapped in gemma-serve's edge middlewares."""
    edge = metrics.for_model(plan.name)
    edge.set_max_ongoing_requests(plan.max_in_flight)
    keys = load_api_keys(server)
    dynamic = (lambda: adapters.dynamic) if adapters is not None else None
    app: ASGIApp = ModelCards(engine.app, plans=[plan], dynamic=dynamic)
    app = ImageGuard.for_plan(app, plan, vllm_app=engine.app)
    if plan.flavour == "pt":
        app = PretrainedChatWarning(app, model=plan.name)
    if adapters is not None:
        app = AdapterEdge(app, adapters=adapters, admin=bool(keys))
    app = ModelRequired(app)
    app = BodyLimit(app, max_bytes=server.max_body_bytes)
    app = AdmissionLimit(
        app,
        max_in_flight=plan.max_in_flight,
        retry_after_s=plan.retry_after_s,
        on_reject=lambda: edge.count_rejected("overloaded"),
    )
    if keys:
        app = ApiKeyAuth(app, keys=keys)
    app = ErrorEdge(app)
    app = ReplicaHeader(app, replica=_replica_name())
    return EdgeMetricsMiddleware(app, metrics=metrics, model=plan.name, observe=is_generation)


class ErrorEdge:
    """Every error a client sees is OpenAI-style JSON, raised here or answered below.

    GemmaServeError becomes its status and JSON; a 4xx/5xx body from below that is
    not `{"error": ...}` (e.g. FastAPI's `{"detail": ...}`) is rewritten into one.
    Only error responses are buffered; successful streams pass straight through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        held: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400:
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                status, headers, body = openai_error(held, b"".join(chunks))
                await send({**held, "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except GemmaServeError as exc:
            if started:
                raise
            await send_error(send, exc)


def openai_error(
    start: dict[str, Any], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """`body` if it already is `{"error": ...}`, else the same status with it wrapped."""
    status = int(start["status"])
    headers = list(start.get("headers", ()))
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        return status, headers, body
    detail = parsed.get("detail", parsed) if isinstance(parsed, dict) else parsed
    message = detail if isinstance(detail, str) else json.dumps(detail) if detail else ""
    kind = "invalid_request_error" if status < 500 else "internal_error"
    new = error_body(message or body.decode(errors="replace")[:500] or "error",
                     status=status, error_type=kind)  # fmt: skip
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
    kept += [(b"content-type", b"application/json"), (b"content-length", str(len(new)).encode())]
    return status, kept, new


class ReplicaHeader:
    """Name the serving replica in `x-gemma-serve-replica` (debugging, routing checks)."""

    def __init__(self, app: ASGIApp, *, replica: str) -> None:
        self.app = app
        self._header = (b"x-gemma-serve-replica", replica.encode())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self.app(scope, receive, send_with_header)


def _replica_name() -> str:
    try:
        from ray import serve

        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # outside a Serve replica (e.g. a unit test)
        return "local"
