"""Check chart values the way the cluster will: merged, validated, planned.

Helm's schema catches shape errors; whether a model fits its GPUs is the
planner's call, which Helm cannot make. This runs the same `validate_config`
and `plan_capacity` the Serve application will run in the cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gemma_serve.config.loader import describe_validation_error, read_yaml
from gemma_serve.errors import ConfigError
from gemma_serve.k8s.values import ChartValues
from gemma_serve.planner.capacity import CapacityPlan, plan_capacity


def chart_dir() -> Path:
    """The chart in this checkout (helm/gemma-serve beside the package)."""
    return Path(__file__).resolve().parents[2] / "helm" / "gemma-serve"


def coalesce(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values over the chart's: maps merge, null deletes, else replace."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merged_values(*files: Path, chart: Path | None = None) -> dict[str, Any]:
    """The chart's values.yaml with `files` merged over it in order (like `helm -f`)."""
    chart = chart or chart_dir()
    values = yaml.safe_load((chart / "values.yaml").read_text())
    for path in files:
        values = coalesce(values, read_yaml(path))
    return values


def check_values(values: Mapping[str, Any]) -> list[CapacityPlan]:
    """Validate merged values (ConfigError) and plan every model (PlanError)."""
    try:
        chart_values = ChartValues.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, values)) from None
    return [plan_capacity(model) for model in chart_values.gemmaServe.models]


def describe(plans: list[CapacityPlan], values: Mapping[str, Any]) -> str:
    """One line per model: what was planned."""
    lines = []
    for plan, model in zip(plans, values["gemmaServe"]["models"], strict=True):
        lines.append(
            f"{model['name']}: Gemma 3 {plan.variant} on {plan.tensor_parallel_size}x "
            f"{plan.accelerator}, {plan.kv_capacity_tokens:,} KV tokens, "
            f"{plan.max_concurrent_full_context} sequences of {plan.max_model_len} tokens at once"
        )
    return "\n".join(lines)
