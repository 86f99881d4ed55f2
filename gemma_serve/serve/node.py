"""Resolve a replica's node-local launch on the node where it runs.

Under KubeRay the plan is made on the head; the replica, on its worker node,
claims the cores its engine binds, finds (or prepares) its checkpoint in this
node's cache, checks that the checkpoint is the Gemma 3 the plan expects, and
renders the engine launch from plan + these facts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from gemma_serve.config.loader import EMBEDDED_270M
from gemma_serve.errors import PlanError
from gemma_serve.models.prepare import cache_root, prepare_embedded
from gemma_serve.planner import EngineLaunch, ModelPlan, launch_on_node
from gemma_serve.serve.cores import CoreClaim, claim_cores

logger = logging.getLogger(__name__)


def resolve_on_node(plan: ModelPlan) -> tuple[EngineLaunch, CoreClaim | None]:
    """The engine launch of `plan` on this node, and the cores claimed for it (CPU only)."""
    root = cache_root()
    if plan.source == EMBEDDED_270M:
        prepare_embedded(root)
    elif plan.source.startswith("embedded:"):
        known = f"known: {EMBEDDED_270M}"
        raise PlanError(f"{plan.name}: unknown embedded model {plan.source!r} ({known})")
    claim = claim_cores(plan.cpu.cores) if plan.cpu is not None else None
    try:
        launch = launch_on_node(plan, cores=claim.cores if claim else (), cache_root=root)
        check_checkpoint(plan, Path(launch.checkpoint))
    except BaseException:
        if claim:
            claim.release()
        raise
    if plan.flavour == "pt":
        logger.warning(
            "%s is a pretrained (pt) checkpoint: chat answers carry a Warning header", plan.name
        )
    return launch, claim


def check_checkpoint(plan: ModelPlan, path: Path) -> None:
    """A local checkpoint must declare the architecture of the planned variant.

    A 1B checkpoint served as `variant: 4b` would be planned with the wrong KV
    geometry and, worse, advertised as taking images. Hub ids are checked by
    vLLM once downloaded.
    """
    config = path / "config.json"
    if not config.is_file():
        return
    declared = json.loads(config.read_text()).get("architectures") or []
    expected = plan.variant.hf_architecture
    if declared and expected not in declared:
        raise PlanError(
            f"{plan.name}: checkpoint {path} is a {declared[0]}, but variant "
            f"{plan.variant.name} is a {expected}; set the variant that matches the checkpoint"
        )
