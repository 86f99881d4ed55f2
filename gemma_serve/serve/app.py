"""The Ray Serve application factory: config -> plan -> deployments.

`build_app` is the `import_path` target of a Serve config (KubeRay's
`serveConfigV2`); `gemma-serve serve` plans first and calls `application`.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve.deployment import Application

from gemma_serve.config.loader import validate_config
from gemma_serve.errors import ConfigError
from gemma_serve.planner import DeploymentPlan, HostFacts, plan_deployment
from gemma_serve.serve.cores import local_facts
from gemma_serve.serve.deployment import model_deployment
from gemma_serve.serve.gateway import Gateway

#: Ray's resource of the head node only (its own state actors pin there the same way). The
#: gateway is every request's edge: on the head, which serves the API port and whose loss
#: ends the cluster anyway, a worker node's loss never takes it (and every stream) down.
HEAD_NODE = "node:__internal_head__"


def build_app(args: dict[str, Any]) -> Application:
    """Serve application builder: `args = {"config": <DeploymentConfig mapping>}`.

    Runs wherever Serve builds the application (under KubeRay: on the cluster),
    so it plans for the cluster's nodes, not for the machine it happens to run on.
    """
    if "config" not in args:
        raise ConfigError("application args need a `config` mapping (a deployment config)")
    config = validate_config(args["config"])
    return application(plan_deployment(config, cluster_facts()))


def cluster_facts() -> HostFacts:
    """The largest node of the running Ray cluster (a head with no CPUs never counts).

    Outside a cluster (building the app to inspect it), this machine.
    """
    import ray

    if not ray.is_initialized():
        return local_facts()
    cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    # The ISA is this host's: CPU models are served on local clusters only (the chart
    # refuses them), whose nodes share this machine's CPUs.
    return HostFacts(
        cores_per_node=max([c for c in cpus if c > 0], default=1),
        cpu_features=local_facts().cpu_features,
    )


def application(plan: DeploymentPlan) -> Application:
    """One model on one replica: it is the ingress, HAProxy forwards straight to it.

    Otherwise a gateway routes by `model`, and each model's Ray request router
    picks the replica (prefix-aware and load-aware), which HAProxy cannot do.
    """
    if plan.single_ingress:
        return model_deployment(plan.models[0], plan.server, ingress=True)
    models = {m.name: model_deployment(m, plan.server, ingress=False) for m in plan.models}
    gateway = serve.deployment(Gateway).options(  # type: ignore[attr-defined]
        name="gateway",
        num_replicas=1,
        max_ongoing_requests=sum(m.max_in_flight for m in plan.models) + 16,
        ray_actor_options={"num_cpus": 0, "resources": {HEAD_NODE: 0.001}},
        # A redeploy starts the new gateway before the old one stops (it takes no CPU,
        # so it always fits): the API never has no edge.
        max_surge_percent=100,
    )
    plans = [m.model_dump(mode="json") for m in plan.models]
    return gateway.bind(models, plans, plan.server.model_dump(mode="json"))
