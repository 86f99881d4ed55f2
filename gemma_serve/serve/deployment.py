"""The Ray Serve deployment that owns one vLLM engine and serves its HTTP API.

Each replica is its own HTTP ingress: with Ray Serve's HAProxy ingress,
requests go from HAProxy straight to the replica's server, which runs vLLM's
OpenAI app. No proxy actor, no Ray handle hop, no re-encoding of chunks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from ray import serve
from ray.serve.deployment import Application

from gemma_serve.config.models import ServerConfig
from gemma_serve.metrics import create_edge_metrics
from gemma_serve.metrics.edge import keep_gauges_fresh
from gemma_serve.planner import ModelPlan
from gemma_serve.planner.render import actor_options, deployment_options
from gemma_serve.serve.node import resolve_on_node
from gemma_serve.serve.readiness import ServeReadiness, with_own_engine

_HEALTH_PERIOD_S = 5
_HEALTH_TIMEOUT_S = 30
#: Queue-length gap between replicas beyond which routing ignores prefixes and balances.
_IMBALANCE_THRESHOLD = 4


class ModelServer:
    """One replica: an engine plus the API around it. Health = the engine's health.

    Reached through the multi-model gateway's handle calls (`handle_http`), with
    the model's own layers only; `IngressModelServer` is the same replica serving
    HTTP itself, behind the edge.
    """

    async def __init__(self, plan: dict[str, Any], server: dict[str, Any]) -> None:  # type: ignore[misc]
        self._plan = ModelPlan.model_validate(plan)
        self._server = ServerConfig.model_validate(server)
        self._api: Any = None
        # On this node: claim the cores, find or prepare the checkpoint, render the launch.
        launch, self._cores = await asyncio.to_thread(resolve_on_node, self._plan)
        # Before vLLM is imported: its engine-core child inherits this environment.
        os.environ.update(launch.env)
        from gemma_serve.engine.vllm_engine import VllmEngine

        # Recorded through Ray, like vLLM's (its Ray stat logger): the node's metrics
        # agent exports both, tagged with this replica's id.
        self._metrics = create_edge_metrics()
        self._engine = await VllmEngine.start(launch.vllm_argv)
        self._adapters = self._replica_adapters()
        # Ray drops a gauge not set for two report intervals (in flight, the limit).
        self._gauges = asyncio.create_task(keep_gauges_fresh(self._metrics))

    def _replica_adapters(self) -> Any:
        """The LoRA adapters of this replica (None without LoRA)."""
        lora = self._plan.lora
        if lora is None:
            return None
        from gemma_serve.engine.lora import EngineAdapters
        from gemma_serve.serve.adapters import ReplicaAdapters
        from gemma_serve.serve.multiplex import AdapterReport

        # Reported to Ray Serve only where a router reads it (several replicas).
        routed = lora.affinity and self._plan.routing != "direct"
        return ReplicaAdapters(
            lora,
            base=self._plan.name,
            engine=EngineAdapters(self._engine, base=self._plan.name),
            metrics=self._metrics.for_model(self._plan.name),
            report=AdapterReport() if routed else (lambda _: None),
        )

    async def _asgi_app(self) -> Any:
        """The API `handle_http` replays into: the model's layers, no edge (the gateway's ran)."""
        from gemma_serve.api.app import build_replica_api

        if self._api is None:
            self._api = build_replica_api(self._engine, self._plan, self._metrics, self._adapters)
        return self._api

    async def call_http(self, request: dict[str, Any], body: bytes) -> dict[str, Any]:
        """One whole HTTP exchange through this replica's API (the gateway's broadcasts)."""
        status, headers, chunks = 500, [], []
        async for message in self.handle_http(None, request, body):
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
        return {"status": status, "headers": headers, "body": b"".join(chunks)}

    async def _engine_ok(self) -> bool:
        try:
            await self._engine.check_health()
        except Exception:
            return False
        return True

    async def check_health(self) -> None:
        await self._engine.check_health()

    async def handle_http(
        self, hint: Any, request: dict[str, Any], body: bytes
    ) -> AsyncIterator[dict[str, Any]]:
        """Serve one HTTP request forwarded by the multi-model gateway, as ASGI messages.

        `hint` is only for the request router (it carries the prompt); the
        request itself is replayed through this replica's API unchanged.
        """
        api = await self._asgi_app()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "scheme": "http", "server": ("gateway", 0), "client": ("gateway", 0),
            "root_path": "", "raw_path": request["path"].encode(), **request,
        }  # fmt: skip
        scope["headers"] = [(bytes(k), bytes(v)) for k, v in request["headers"]]
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the gateway cancels us if the client leaves
            return {"type": "http.disconnect"}

        async def run() -> None:
            try:
                await api(scope, receive, queue.put)
            finally:
                await queue.put(None)

        task = asyncio.create_task(run())
        try:
            while (message := await queue.get()) is not None:
                yield message
            await task
        finally:
            task.cancel()

    def __del__(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.client.shutdown()
        cores = getattr(self, "_cores", None)
        if cores is not None:
            cores.release()


@serve.ingress()
class IngressModelServer(ModelServer):
    """A ModelServer that is the application's HTTP ingress (single-model deployments)."""

    async def __serve_build_asgi_app__(self) -> Any:
        from gemma_serve.api.app import build_model_api

        context = serve.get_replica_context()
        readiness = ServeReadiness(
            app=context.app_name, deployments={self._plan.name: context.deployment}
        )
        return build_model_api(
            self._engine, self._plan, self._server, self._metrics,
            readiness=with_own_engine(readiness, self._plan.name, self._engine_ok),
            adapters=self._adapters,
        )  # fmt: skip


def model_deployment(plan: ModelPlan, server: ServerConfig, *, ingress: bool) -> Application:
    """Bind one model's deployment with the plan's resources and limits."""
    options = deployment_options(plan)
    if plan.routing == "prefix_aware":
        # Ray Serve LLM's router: prefix-cache affinity, falling back to
        # power-of-two choices when replicas' loads diverge.
        options["request_router_config"] = {
            "request_router_class": "ray.serve.llm.request_router:PrefixCacheAffinityRouter",
            # Ray's default (inf) never balances: a hot prefix would pile onto one replica.
            "request_router_kwargs": {"imbalanced_threshold": _IMBALANCE_THRESHOLD},
        }
    cls = IngressModelServer if ingress else ModelServer
    deployment = serve.deployment(cls).options(  # type: ignore[attr-defined]
        name=deployment_name(plan.name),
        ray_actor_options=actor_options(plan),
        health_check_period_s=_HEALTH_PERIOD_S,
        health_check_timeout_s=_HEALTH_TIMEOUT_S,
        graceful_shutdown_timeout_s=server.drain_timeout_s,
        graceful_shutdown_wait_loop_s=1.0,
        # A line per request costs CPU on the engine's cores; requests are counted on /metrics.
        logging_config={"enable_access_log": False},
        **options,
    )
    return deployment.bind(plan.model_dump(mode="json"), server.model_dump(mode="json"))


def deployment_name(model_name: str) -> str:
    """The Serve deployment of a model (Ray Serve's metrics label it `deployment`)."""
    return "model-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in model_name)
