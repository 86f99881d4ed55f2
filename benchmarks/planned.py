"""What a gemma-serve launch runs, asked from `gemma-serve plan --json` in a subprocess.

The suite starts bare vLLM and Ray Serve LLM with exactly the vLLM argv and
engine env gemma-serve's planner gives its replica, without importing the
server: the plan's JSON (`models[i].launch.vllm_argv` and `.env`) is the contract.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gemma_serve.bench.errors import BenchError


class Launch(BaseModel):
    """One model's launch on this host, as the planner resolved it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    vllm_argv: list[str] = Field(description="Arguments for vLLM's OpenAI-server parser.")
    env: dict[str, str] = Field(description="Environment of the replica and its engine.")


class Accelerator(BaseModel):
    """What the plan is for: `cpu` or a GPU kind."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(description="`cpu` or the GPU kind.")


class PlannedModel(BaseModel):
    """A model of `plan --json`; the capacity fields beside `launch` are not needed here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(description="Served model name.")
    accelerator: Accelerator = Field(description="What the plan is for.")
    launch: Launch = Field(description="The vLLM argv and engine env of its replica.")


class _Plan(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    models: list[PlannedModel] = Field(min_length=1, description="One entry per model.")


def planned_model(
    config: Path, *, model: str | None = None, python: str = sys.executable, cwd: Path | None = None
) -> PlannedModel:
    """`model` of `config` (default its only model), from `python -m gemma_serve.cli.main plan`."""
    argv = [python, "-m", "gemma_serve.cli.main", "plan", "--config", str(config), "--json"]
    if model is not None:
        argv += ["--model", model]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"cannot run gemma-serve plan: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise BenchError(f"gemma-serve plan --config {config} failed: {lines[-1]}")
    try:
        plan = _Plan.model_validate(json.loads(done.stdout))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise BenchError(f"gemma-serve plan --json printed no usable plan: {exc}") from None
    if model is None and len(plan.models) != 1:
        names = [m.name for m in plan.models]
        raise BenchError(f"{config} serves {names}: name the model to benchmark")
    return plan.models[0]
