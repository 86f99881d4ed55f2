"""The ingress of a multi-model deployment: the edge, then a route by the request's `model`.

With one model on one replica, that replica is the ingress and this hop does
not exist. Otherwise the gateway runs the same edge as a single-model ingress
(`gemma_serve.api.edge`: auth, errors, limits, routes, `/v1/models`, `/health`)
around `ModelRouter`, which picks the model's deployment and streams the
replica's ASGI messages back. Replica choice is the deployment's Ray Serve
request router (prefix-aware and load-aware when a model has several
replicas), which sees the prompt through the routing hint.
"""

from __future__ import annotations

import json
from collections.abc import Container, Mapping
from types import SimpleNamespace
from typing import Any

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from gemma_serve.api.auth import load_api_keys
from gemma_serve.api.body import read_body
from gemma_serve.api.edge import build_edge
from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ModelNotFound, Overloaded, RequestError
from gemma_serve.planner import ModelPlan
from gemma_serve.serve.readiness import ServeReadiness

#: Seconds a client is told to wait when no replica of its model could take the request.
_RETRY_AFTER_S = 1


def pick_model(payload: Any, served: Container[str]) -> str:
    """The served model a request names (the one place a request is routed by name)."""
    if not isinstance(payload, dict):
        raise RequestError("request body must be a JSON object")
    name = payload.get("model")
    if not isinstance(name, str):
        raise RequestError('"model" must be a string: the name of a model (see GET /v1/models)')
    if name not in served:
        raise ModelNotFound(f"The model `{name}` does not exist.")
    return name


def routing_hint(body: dict[str, Any]) -> SimpleNamespace:
    """What Ray's PrefixCacheAffinityRouter reads: a `messages` or else a `prompt` attribute.

    Only the one the request has is set: the router takes the first attribute it finds.
    """
    if body.get("messages") is not None:
        return SimpleNamespace(messages=body["messages"])
    prompt = body.get("prompt")
    return SimpleNamespace(prompt=prompt if isinstance(prompt, str | list) else "")


class ModelRouter:
    """Pure ASGI: forward a model-routed request to its model's deployment, stream the answer.

    `models` maps each model name to a streaming handle of its deployment.
    """

    def __init__(self, models: Mapping[str, Any]) -> None:
        self._models = dict(models)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise RequestError("request body is not valid JSON") from None
        name = pick_model(payload, self._models)
        request = {
            "method": scope["method"],
            "path": scope["path"],
            "query_string": scope.get("query_string", b""),
            "headers": list(scope.get("headers", ())),
        }
        stream = self._models[name].handle_http.remote(routing_hint(payload), request, body)
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


@serve.ingress()
class Gateway:
    """The multi-model ingress: the edge around `ModelRouter`."""

    def __init__(
        self, models: dict[str, DeploymentHandle], plans: list[dict[str, Any]], server: dict
    ) -> None:
        config = ServerConfig.model_validate(server)
        readiness = ServeReadiness(
            app=serve.get_replica_context().app_name,
            deployments={name: h.deployment_name for name, h in models.items()},
        )
        router = ModelRouter({name: h.options(stream=True) for name, h in models.items()})
        self._app = build_edge(
            router,
            plans=[ModelPlan.model_validate(p) for p in plans],
            server=config,
            keys=load_api_keys(config),
            readiness=readiness,
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
