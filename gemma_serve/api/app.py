"""The HTTP API of one model replica: vLLM's OpenAI app plus gemma-serve's edge.

The edge layers are pure ASGI middlewares (no per-chunk work on the streaming
path), applied outermost-first: metrics, errors, API keys, admission, body limit,
then vLLM's app.
"""

from __future__ import annotations

from typing import Any

from gemma_serve.api.auth import ApiKeyAuth, load_api_keys
from gemma_serve.api.cards import ModelCards
from gemma_serve.api.errors import send_error
from gemma_serve.api.images import ImageGuard
from gemma_serve.api.limits import AdmissionLimit, BodyLimit
from gemma_serve.config.models import ServerConfig
from gemma_serve.engine.vllm_engine import VllmEngine
from gemma_serve.errors import GemmaServeError
from gemma_serve.metrics import EdgeMetrics, EdgeMetricsMiddleware
from gemma_serve.planner.launch import ModelLaunch

ASGIApp = Any


def build_model_api(
    engine: VllmEngine, launch: ModelLaunch, server: ServerConfig, metrics: EdgeMetrics
) -> ASGIApp:
    """vLLM's app for `engine`, wrapped in gemma-serve's edge middlewares."""
    edge = metrics.for_model(launch.name)
    edge.set_max_ongoing_requests(launch.max_in_flight)
    app: ASGIApp = ModelCards(engine.app, launches=[launch])
    app = ImageGuard.for_launch(app, launch, vllm_app=engine.app)
    app = BodyLimit(app, max_bytes=server.max_body_bytes)
    app = AdmissionLimit(
        app,
        max_in_flight=launch.max_in_flight,
        retry_after_s=launch.retry_after_s,
        on_reject=lambda: edge.count_rejected("overloaded"),
    )
    keys = load_api_keys(server)
    if keys:
        app = ApiKeyAuth(app, keys=keys)
    app = ErrorEdge(app)
    app = ReplicaHeader(app, replica=_replica_name())
    return EdgeMetricsMiddleware(app, metrics=metrics, model=launch.name)


class ErrorEdge:
    """Turn any GemmaServeError raised below into OpenAI-style JSON, once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except GemmaServeError as exc:
            if started or scope["type"] != "http":
                raise
            await send_error(send, exc)


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
