"""The ingress of a multi-model deployment: the edge, then a route by the request's `model`.

With one model on one replica, that replica is the ingress and this hop does
not exist. Otherwise the gateway runs the same edge as a single-model ingress
(`gemma_serve.api.edge`: auth, errors, limits, routes, `/v1/models`, `/health`)
around `ModelRouter`, which picks the model's deployment and streams the
replica's ASGI messages back. Replica choice is the deployment's Ray Serve
request router (prefix-aware and load-aware when a model has several
replicas), which sees the prompt through the routing hint. A request naming a
LoRA adapter goes to its base model's deployment (`AdapterRoutes`), a dynamic
one with Ray Serve's `multiplexed_model_id` so the router prefers a replica
holding it; the adapter admin calls reach every replica of the model that
loads adapters by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from gemma_serve.api.auth import load_api_keys
from gemma_serve.api.body import read_body
from gemma_serve.api.edge import build_edge
from gemma_serve.api.paths import is_admin
from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ModelNotFound, Overloaded, RequestError
from gemma_serve.metrics import create_edge_metrics
from gemma_serve.planner import ModelPlan
from gemma_serve.serve.adapter_routes import AdapterRoute, AdapterRoutes, broadcast_http
from gemma_serve.serve.prefix_trees import pin_prefix_trees
from gemma_serve.serve.readiness import ServeReadiness

#: Seconds a client is told to wait when no replica of its model could take the request.
_RETRY_AFTER_S = 1


def pick_model(payload: Any, routes: AdapterRoutes) -> AdapterRoute:
    """Where the model a request names is served (the one place a request is routed by name).

    A model, a static adapter (its model) or, when a model loads adapters by
    name, any other name (that model; its replica answers 404 if it has none).
    """
    if not isinstance(payload, dict):
        raise RequestError("request body must be a JSON object")
    name = payload.get("model")
    if not isinstance(name, str):
        raise RequestError('"model" must be a string: the name of a model (see GET /v1/models)')
    route = routes.route(name)
    if route is None:
        raise ModelNotFound(f"The model `{name}` does not exist.")
    return route


def routing_hint(body: dict[str, Any]) -> SimpleNamespace:
    """What Ray's PrefixCacheAffinityRouter reads: a `messages` or else a `prompt` attribute.

    Only the one the request has is set: the router takes the first attribute it finds.
    """
    if body.get("messages") is not None:
        return SimpleNamespace(messages=body["messages"])
    prompt = body.get("prompt")
    return SimpleNamespace(prompt=prompt if isinstance(prompt, str | list) else "")


def request_of(scope: dict[str, Any]) -> dict[str, Any]:
    """What a replica needs of an HTTP request's scope to replay it."""
    return {
        "method": scope["method"],
        "path": scope["path"],
        "query_string": scope.get("query_string", b""),
        "headers": list(scope.get("headers", ())),
    }


class ModelRouter:
    """Pure ASGI: forward a model-routed request to its model's deployment, stream the answer.

    `models` maps each model name to a streaming handle of its deployment;
    `routes` says which serves an adapter's name (default: models only);
    `unary` holds the handles the adapter admin calls are broadcast through.
    """

    def __init__(
        self,
        models: Mapping[str, Any],
        *,
        routes: AdapterRoutes | None = None,
        unary: Mapping[str, Any] | None = None,
    ) -> None:
        self._models = dict(models)
        self._routes = routes or AdapterRoutes.of_models(list(models))
        self._unary = dict(unary or {})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if is_admin(scope):
            await self._adapter_admin(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise RequestError("request body is not valid JSON") from None
        route = pick_model(payload, self._routes)
        name, handle = route.model, self._models[route.model]
        if route.multiplexed_model_id is not None:
            handle = handle.options(multiplexed_model_id=route.multiplexed_model_id)
        stream = handle.handle_http.remote(routing_hint(payload), request_of(scope), body)
        started = False
        try:
            async for message in stream:
                started = True
                await send(message)
        except (BackPressureError, RayActorError, ActorUnavailableError):
            if started:
                raise
            raise Overloaded(
                f"no replica of {name} could take the request; retry later",
                retry_after_s=_RETRY_AFTER_S,
            ) from None

    async def _adapter_admin(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """LoRA load/unload reach every replica of the model that loads adapters by name."""
        model = self._routes.dynamic
        if model is None or model not in self._unary:
            raise RequestError("no model here loads LoRA adapters at run time (lora.directory)")
        body = await read_body(receive)
        status, headers, raw = await broadcast_http(self._unary[model], request_of(scope), body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


@serve.ingress()
class Gateway:
    """The multi-model ingress: the edge around `ModelRouter`."""

    def __init__(
        self, models: dict[str, DeploymentHandle], plans: list[dict[str, Any]], server: dict
    ) -> None:
        config = ServerConfig.model_validate(server)
        app = serve.get_replica_context().app_name
        readiness = ServeReadiness(
            app=app, deployments={name: h.deployment_name for name, h in models.items()}
        )
        model_plans = [ModelPlan.model_validate(p) for p in plans]
        prefix_aware = [p.name for p in model_plans if p.routing == "prefix_aware"]
        pin_prefix_trees(app, [models[name].deployment_name for name in prefix_aware])
        router = ModelRouter(
            {name: h.options(stream=True) for name, h in models.items()},
            routes=AdapterRoutes.from_plans(model_plans),
            unary=models,
        )
        self._app = build_edge(
            router,
            plans=model_plans,
            server=config,
            keys=load_api_keys(config),
            readiness=readiness,
            on_key=create_edge_metrics().count_key,
        )

    async def __serve_build_asgi_app__(self) -> Any:
        return _Asgi3(self._asgi)

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await self._app(scope, receive, send)


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
