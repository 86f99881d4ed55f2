"""The one HTTP edge: the layers every request passes before a model sees it.

`build_edge` builds it around an inner app, for both shapes: the single-model
ingress (inner: that model's API, vLLM's app with images and the flavour
warning) and the multi-model gateway (inner: the router to the models'
deployments). Same auth, same errors, same limits, same routes, by
construction. The layers, outermost first (`edge_layers`):

1. errors: whatever fails below is OpenAI-shaped JSON (404 and 405 included).
2. open routes: `/health` (replica counts) and `/metrics` (a 404 naming the scrape
   target: each Ray node's metrics agent), no key.
3. API keys (when set): every other route; leaves the matched key as `caller`.
   Per-key budgets (requests and tokens a minute, concurrency: 429) and the
   key's priority go right after, reading it (`gemma_serve.api.quotas`).
   Without keys, the LoRA adapter admin calls are closed (401).
4. route table: 404 for a path the API does not serve, 405 for a wrong method.
5. `/v1/models` and `/v1/models/{id}` from the plans (with their LoRA adapters, `parent` the base).
6. body limit: 413.
7. required `model`: 400.

Pure ASGI throughout: a layer that lets a request through adds no work per
streamed chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gemma_serve.api.auth import AdminClosed, ApiKeyAuth
from gemma_serve.api.cards import ModelCards
from gemma_serve.api.errors import ErrorEdge
from gemma_serve.api.health import HealthProbe, Readiness
from gemma_serve.api.limits import BodyLimit
from gemma_serve.api.paths import HEALTH, METRICS, OPEN_PATHS, ROUTES, route_of
from gemma_serve.api.quotas import KeyOutcome, QuotaBook, Quotas
from gemma_serve.api.validation import ModelRequired
from gemma_serve.config.keys import ApiKey
from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import MethodNotAllowed, RouteNotFound
from gemma_serve.metrics.edge import RejectReason
from gemma_serve.metrics.scrape import not_here
from gemma_serve.planner import ModelPlan

ASGIApp = Any
#: One edge layer: wraps the app below it.
Layer = Callable[[ASGIApp], ASGIApp]
#: Counts one request of a key: (model, key name, outcome, tokens charged).
OnKey = Callable[[str, str, KeyOutcome, int], None]


def build_edge(
    inner: ASGIApp,
    *,
    plans: Sequence[ModelPlan],
    server: ServerConfig,
    keys: Sequence[ApiKey],
    readiness: Readiness,
    on_reject: Callable[[RejectReason], None] = lambda _: None,
    on_key: OnKey = lambda *_: None,
    dynamic_adapters: Callable[[], list[str]] | None = None,
) -> ASGIApp:
    """`inner` behind the edge; `on_reject` counts what the edge itself refuses.

    `dynamic_adapters` names the LoRA adapters the first plan's replica holds
    now, for `/v1/models` (the single-model ingress is that replica).
    """
    app = inner
    layers = edge_layers(
        plans=plans, server=server, keys=keys, readiness=readiness, on_reject=on_reject,
        on_key=on_key, dynamic_adapters=dynamic_adapters,
    )  # fmt: skip
    for layer in reversed(layers):
        app = layer(app)
    return app


def edge_layers(
    *,
    plans: Sequence[ModelPlan],
    server: ServerConfig,
    keys: Sequence[ApiKey],
    readiness: Readiness,
    on_reject: Callable[[RejectReason], None],
    on_key: OnKey = lambda *_: None,
    dynamic_adapters: Callable[[], list[str]] | None = None,
) -> list[Layer]:
    """The edge's layers, outermost first."""
    health = HealthProbe(models=[p.name for p in plans], readiness=readiness)
    layers: list[Layer] = [
        ErrorEdge,
        lambda app: OpenRoutes(app, health=health, metrics=MetricsElsewhere(server.metrics_port)),
    ]
    if keys:
        unauthorized = lambda: on_reject("unauthorized")  # noqa: E731
        layers.append(lambda app: ApiKeyAuth(app, keys=list(keys), on_reject=unauthorized))
        layers.append(lambda app: _quotas(app, keys, plans, on_key))
    else:
        layers.append(AdminClosed)
    layers += [
        RouteTable,
        lambda app: ModelCards(app, plans=list(plans), dynamic=dynamic_adapters),
        lambda app: BodyLimit(
            app, max_bytes=server.max_body_bytes, on_reject=lambda: on_reject("too_large")
        ),
        ModelRequired,
    ]
    return layers


def _quotas(
    app: ASGIApp, keys: Sequence[ApiKey], plans: Sequence[ModelPlan], on_key: OnKey
) -> Quotas:
    """The budgets of `keys`, one book for the edge; a request without a maximum
    output is charged the model's `max_output_tokens`."""
    context = {p.name: p.max_output_tokens for p in plans}
    known = set(context)

    def counted(model: str, name: str, outcome: KeyOutcome, tokens: int) -> None:
        on_key(model if model in known else "other", name, outcome, tokens)

    return Quotas(app, book=QuotaBook(list(keys)), context_tokens=context, on_key=counted)


class MetricsElsewhere:
    """`GET /metrics` on the API: a 404 naming the scrape target.

    Behind HAProxy a scrape of the API would answer for one replica chosen at
    random; every replica's series are exported by its node's metrics agent.
    """

    def __init__(self, metrics_port: int) -> None:
        self._port = metrics_port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise not_here(self._port)


class OpenRoutes:
    """`GET /health` answered here; `GET /metrics` by `metrics`; both without a key."""

    def __init__(self, app: ASGIApp, *, health: ASGIApp, metrics: ASGIApp) -> None:
        self.app = app
        self._routes = {HEALTH: health, METRICS: metrics}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        _check_method(scope)
        await self._routes[scope["path"]](scope, receive, send)


class RouteTable:
    """404 for a path the API does not serve, 405 for a method its path does not take."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            _check_method(scope)
        await self.app(scope, receive, send)


def _check_method(scope: dict[str, Any]) -> None:
    method, path = scope["method"], scope["path"]
    allowed = ROUTES.get(route_of(path))
    if allowed is None:
        raise RouteNotFound(f"Invalid URL ({method} {path})")
    if method not in allowed:
        allow = tuple(sorted(allowed))
        raise MethodNotAllowed(
            f"Method Not Allowed ({method} {path}); use {', '.join(allow)}", allow=allow
        )
