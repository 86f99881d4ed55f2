"""The HTTP API of one model replica: vLLM's OpenAI app plus the model's own layers.

The model layers (admission limit, LoRA adapters, flavour warning, images) run
in the replica that owns the engine, whatever the shape. A replica that is the
ingress (one model, one replica) puts the edge (`gemma_serve.api.edge`) around
them; a replica behind the gateway does not: the gateway's edge already ran
auth, the body limit and the route table. Both are measured here (edge
metrics) and name the replica in a header. Outermost first: metrics, replica
header, [edge | errors], admission, LoRA adapters, flavour warning, images,
vLLM's app.
"""

from __future__ import annotations

from typing import Any

from gemma_serve.api.adapters import AdapterEdge
from gemma_serve.api.auth import load_api_keys
from gemma_serve.api.edge import build_edge
from gemma_serve.api.errors import ErrorEdge
from gemma_serve.api.flavour import PretrainedChatWarning
from gemma_serve.api.health import Readiness
from gemma_serve.api.images import ImageGuard
from gemma_serve.api.limits import AdmissionLimit
from gemma_serve.api.paths import is_generation
from gemma_serve.config.models import ServerConfig
from gemma_serve.engine.vllm_engine import VllmEngine
from gemma_serve.metrics import EdgeMetrics, EdgeMetricsMiddleware
from gemma_serve.planner import ModelPlan
from gemma_serve.serve.adapters import ReplicaAdapters

ASGIApp = Any


def build_model_api(
    engine: VllmEngine,
    plan: ModelPlan,
    server: ServerConfig,
    metrics: EdgeMetrics,
    *,
    readiness: Readiness,
    adapters: ReplicaAdapters | None = None,
) -> ASGIApp:
    """The single-model ingress: the edge around this replica's model layers."""
    app = build_edge(
        model_layers(engine, plan, metrics, adapters),
        plans=[plan],
        server=server,
        keys=load_api_keys(server),
        readiness=readiness,
        on_reject=metrics.for_model(plan.name).count_rejected,
        on_key=lambda _model, name, outcome, tokens: metrics.count_key(
            plan.name, name, outcome, tokens
        ),
        dynamic_adapters=(lambda: adapters.dynamic) if adapters is not None else None,
    )
    return _observed(app, plan, metrics)


def build_replica_api(
    engine: VllmEngine,
    plan: ModelPlan,
    metrics: EdgeMetrics,
    adapters: ReplicaAdapters | None = None,
) -> ASGIApp:
    """A replica behind the gateway: its model layers, errors still OpenAI-shaped here."""
    return _observed(ErrorEdge(model_layers(engine, plan, metrics, adapters)), plan, metrics)


def model_layers(
    engine: VllmEngine,
    plan: ModelPlan,
    metrics: EdgeMetrics,
    adapters: ReplicaAdapters | None = None,
) -> ASGIApp:
    """What only the replica of this model can do, around vLLM's app.

    `adapters` (a LoRA plan): requests naming an adapter hold it (a dynamic
    one loads on first use, an unknown name is a 404), and the admin calls
    load and unload through the replica's cache.
    """
    edge = metrics.for_model(plan.name)
    edge.set_max_ongoing_requests(plan.max_in_flight)
    app: ASGIApp = ImageGuard.for_plan(
        engine.app, plan, vllm_app=engine.app, on_images=edge.count_images
    )
    if plan.flavour == "pt":
        app = PretrainedChatWarning(app, model=plan.name)
    if adapters is not None:
        app = AdapterEdge(app, adapters=adapters)
    return AdmissionLimit(
        app,
        max_in_flight=plan.max_in_flight,
        retry_after_s=plan.retry_after_s,
        on_reject=lambda: edge.count_rejected("overloaded"),
    )


def _observed(app: ASGIApp, plan: ModelPlan, metrics: EdgeMetrics) -> ASGIApp:
    app = ReplicaHeader(app, replica=_replica_name())
    return EdgeMetricsMiddleware(app, metrics=metrics, model=plan.name, observe=is_generation)


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
