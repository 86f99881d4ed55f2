"""The Ray Serve application factory: config -> plan -> deployments.

`build_app` is the `import_path` target of a Serve config (KubeRay's
`serveConfigV2`); `gemma-serve serve` calls the same function.
"""

from __future__ import annotations

import os
from typing import Any

from ray import serve
from ray.serve.deployment import Application

from gemma_serve.api.cards import model_card
from gemma_serve.config.loader import validate_config
from gemma_serve.config.models import DeploymentConfig
from gemma_serve.errors import ConfigError
from gemma_serve.models.prepare import cache_root
from gemma_serve.planner.launch import LaunchPlan, plan_launch
from gemma_serve.serve.deployment import model_deployment
from gemma_serve.serve.gateway import Gateway

APP_NAME = "gemma-serve"


def build_app(args: dict[str, Any]) -> Application:
    """Serve application builder: `args = {"config": <DeploymentConfig mapping>}`."""
    if "config" not in args:
        raise ConfigError("application args need a `config` mapping (a deployment config)")
    config = validate_config(args["config"])
    return application(config, plan_for(config))


def plan_for(config: DeploymentConfig) -> LaunchPlan:
    """Plan on this host (its CPU count, its checkpoint cache)."""
    return plan_launch(config, host_cpus=os.cpu_count() or 1, cache_root=cache_root())


def application(config: DeploymentConfig, plan: LaunchPlan) -> Application:
    """One model on one replica: it is the ingress, HAProxy forwards straight to it.

    Otherwise a gateway routes by `model`, and each model's Ray request router
    picks the replica (prefix-aware and load-aware), which HAProxy cannot do.
    """
    if len(plan.models) == 1 and plan.models[0].routing == "direct":
        return model_deployment(plan.models[0], config.server, ingress=True)
    models = {m.name: model_deployment(m, config.server, ingress=False) for m in plan.models}
    cards = [model_card(m) for m in plan.models]
    gateway = serve.deployment(Gateway).options(  # type: ignore[attr-defined]
        name="gateway",
        num_replicas=1,
        max_ongoing_requests=sum(m.max_in_flight for m in plan.models) + 16,
        ray_actor_options={"num_cpus": 0},
    )
    return gateway.bind(models, cards)
