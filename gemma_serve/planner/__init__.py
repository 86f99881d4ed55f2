"""Pure planning: config -> one resolved, frozen plan per model. No Ray, no vLLM.

- `plan_deployment(config, host)` / `plan_model(...)`: rules, images, TP, scheduler,
  capacity and Ray resources, decided once (`plan`; capacity arithmetic in
  `capacity`, the TP search and advice in `fit`).
- `render`: the vLLM argv, engine env and Ray Serve options of a plan.
- `node`: the node-local launch (cores, checkpoint) a replica resolves where it runs.
"""

from gemma_serve.planner.capacity import CapacityPlan
from gemma_serve.planner.node import EngineLaunch, checkpoint_on_node, launch_on_node
from gemma_serve.planner.plan import (
    DeploymentPlan,
    HostFacts,
    ImagesPlan,
    ModelPlan,
    plan_deployment,
    plan_model,
)

__all__ = [
    "CapacityPlan",
    "DeploymentPlan",
    "EngineLaunch",
    "HostFacts",
    "ImagesPlan",
    "ModelPlan",
    "checkpoint_on_node",
    "launch_on_node",
    "plan_deployment",
    "plan_model",
]
