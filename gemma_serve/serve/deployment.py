"""The Ray Serve deployment that owns one vLLM engine and serves its HTTP API.

Each replica is its own HTTP ingress: with Ray Serve's HAProxy ingress,
requests go from HAProxy straight to the replica's server, which runs vLLM's
OpenAI app. No proxy actor, no Ray handle hop, no re-encoding of chunks.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve.deployment import Application

from gemma_serve.config.models import ServerConfig
from gemma_serve.planner.launch import ModelLaunch

_HEALTH_PERIOD_S = 5
_HEALTH_TIMEOUT_S = 30


@serve.ingress()
class ModelServer:
    """One replica: an engine plus the API around it. Health = the engine's health."""

    async def __init__(self, launch: dict[str, Any], server: dict[str, Any]) -> None:
        from gemma_serve.engine.vllm_engine import VllmEngine

        self._launch = ModelLaunch.model_validate(launch)
        self._server = ServerConfig.model_validate(server)
        self._engine = await VllmEngine.start(self._launch.vllm_argv)

    async def __serve_build_asgi_app__(self) -> Any:
        from gemma_serve.api.app import build_model_api

        return build_model_api(self._engine, self._launch, self._server)

    async def check_health(self) -> None:
        await self._engine.check_health()

    def __del__(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.client.shutdown()


def model_deployment(launch: ModelLaunch, server: ServerConfig) -> Application:
    """Bind one model's deployment with the planner's resources and limits."""
    options: dict[str, Any] = dict(launch.deployment_options)
    actor: dict[str, Any] = {
        "num_cpus": launch.replica_cpus,
        "runtime_env": {"env_vars": dict(launch.env)},
    }
    if launch.replica_gpus and len(launch.placement_bundles) <= 1:
        actor["num_gpus"] = launch.replica_gpus
    if len(launch.placement_bundles) > 1:
        options["placement_group_bundles"] = launch.placement_bundles
        options["placement_group_strategy"] = "STRICT_PACK"
    deployment = serve.deployment(ModelServer).options(
        name=_deployment_name(launch.name),
        ray_actor_options=actor,
        health_check_period_s=_HEALTH_PERIOD_S,
        health_check_timeout_s=_HEALTH_TIMEOUT_S,
        graceful_shutdown_timeout_s=server.drain_timeout_s,
        graceful_shutdown_wait_loop_s=1.0,
        **options,
    )
    return deployment.bind(launch.model_dump(mode="json"), server.model_dump(mode="json"))


def _deployment_name(model_name: str) -> str:
    return "model-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in model_name)
