"""The node-local part of a launch, resolved where the replica runs.

A plan is made once, possibly on another machine (under KubeRay: the head).
Which cores an engine binds and where its checkpoint lies are facts of the node
the replica lands on; the replica gathers them (its claimed cores, its cache
root) and this pure function turns plan + node facts into the engine launch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.planner.plan import ModelPlan
from gemma_serve.planner.render import engine_env, vllm_argv

#: `source:` of the checkpoint gemma-serve converts itself (gemma_serve.models.prepare).
EMBEDDED_PREFIX = "embedded:"


class EngineLaunch(BaseModel):
    """What one replica starts on its node: vLLM's argv and the engine's environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint: str = Field(..., description="Checkpoint directory or hub id on this node.")
    vllm_argv: list[str] = Field(..., description="Arguments for vLLM's OpenAI-server parser.")
    env: dict[str, str] = Field(..., description="Environment of the engine process.")


def checkpoint_on_node(source: str, cache_root: Path) -> str:
    """`embedded:<name>` -> the prepared directory under this node's cache; others as given."""
    if source.startswith(EMBEDDED_PREFIX):
        return str(cache_root / "models" / source.removeprefix(EMBEDDED_PREFIX))
    return source


def launch_on_node(plan: ModelPlan, *, cores: Sequence[int], cache_root: Path) -> EngineLaunch:
    """The engine launch of `plan` on a node where the replica claimed `cores`."""
    checkpoint = checkpoint_on_node(plan.source, cache_root)
    return EngineLaunch(
        checkpoint=checkpoint,
        vllm_argv=vllm_argv(plan, checkpoint=checkpoint),
        # vLLM's compile cache beside the checkpoints (on Kubernetes, the model cache
        # volume): a restarted replica or a new pod on the volume starts warm.
        env={**engine_env(plan, cores=cores), "VLLM_CACHE_ROOT": str(cache_root / "vllm")},
    )
