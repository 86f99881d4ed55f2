"""The prefix-aware router's tree actor, placed beside the gateway that routes with it.

Ray Serve LLM's `PrefixCacheAffinityRouter` keeps its prefix tree in a detached
actor that it creates on first use with Ray's default placement: one CPU for
scheduling, so under KubeRay (a head with no CPUs) it lands on a worker node.
When that node is lost, the router's blocking `ray.get` on the tree stalls the
gateway's event loop, and no request of any model is routed until Ray gives
up on the actor (over 240 s measured). Created here first, under the name and
namespace the router looks up (it calls `get_if_exists`), the tree runs on the
gateway's own node with no CPU reserved, so it lives and dies with its only user.
"""

from __future__ import annotations

from collections.abc import Iterable

import ray
from ray.llm._internal.serve.routing_policies.prefix_aware.prefix_tree import PrefixTreeActor
from ray.serve._private.constants import SERVE_NAMESPACE
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

#: The name `PrefixCacheAffinityRouter.initialize_state` gives its tree actor.
TREE_ACTOR = "LlmPrefixTreeActor"


def tree_namespace(app: str, deployment: str) -> str:
    """The namespace the router puts a deployment's tree actor in."""
    return "::".join([SERVE_NAMESPACE, app, deployment])


def pin_prefix_trees(app: str, deployments: Iterable[str]) -> None:
    """Start each deployment's tree actor on this node (a no-op where one already runs)."""
    node = ray.get_runtime_context().get_node_id()
    here = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
    for deployment in deployments:
        PrefixTreeActor.options(  # type: ignore[attr-defined]
            name=TREE_ACTOR,
            namespace=tree_namespace(app, deployment),
            get_if_exists=True,
            lifetime="detached",
            num_cpus=0,
            scheduling_strategy=here,
        ).remote()
