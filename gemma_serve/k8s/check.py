"""Check chart values the way the cluster will: merged, validated, planned.

Helm's schema catches shape errors; whether a model fits its GPUs is the
planner's call, which Helm cannot make. This runs the same `validate_config`
and `plan_deployment` the Serve application will run in the cluster.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gemma_serve.config.loader import describe_validation_error, read_yaml
from gemma_serve.errors import ConfigError
from gemma_serve.k8s.values import ChartValues
from gemma_serve.planner import HostFacts, ModelPlan, plan_deployment

#: Where the chart is when gemma_serve runs from a checkout (helm/ beside the package).
_CHECKOUT_CHART = Path(__file__).resolve().parents[2] / "helm" / "gemma-serve"


def chart_dir(given: Path | None = None) -> Path:
    """The Helm chart: `given`, else $GEMMA_SERVE_CHART, else the checkout's helm/gemma-serve.

    An installed wheel has no checkout beside it: there the chart must be named.
    """
    path = given or Path(os.environ.get("GEMMA_SERVE_CHART") or _CHECKOUT_CHART)
    if not (path / "Chart.yaml").is_file():
        raise ConfigError(
            f"no Helm chart at {path}: pass --chart DIR (the chart's helm/gemma-serve "
            "directory) or set GEMMA_SERVE_CHART"
        )
    return path


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


def check_values(values: Mapping[str, Any], *, chart: Path | None = None) -> list[ModelPlan]:
    """Validate merged values like Helm, then as models (ConfigError); plan each model (PlanError).

    Helm's check is the chart's values.schema.json (Ray depends on `jsonschema`,
    so it is there wherever gemma-serve is); the models add their cross-field rules.
    """
    schema_errors = _schema_errors(values, (chart or chart_dir()) / "values.schema.json")
    if schema_errors:
        more = f" (and {len(schema_errors) - 1} more)" if len(schema_errors) > 1 else ""
        raise ConfigError(schema_errors[0] + more)
    try:
        chart_values = ChartValues.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, values)) from None
    config = chart_values.gemmaServe
    # A CPU model in the chart names its cores; GPU models do not depend on them.
    cores = max((m.hardware.cpu_cores or 1 for m in config.models), default=1)
    return plan_deployment(config, HostFacts(cores_per_node=cores)).models


def _schema_errors(values: Mapping[str, Any], schema_path: Path) -> list[str]:
    """`/json/pointer: message` for each violation of the chart's schema, if it ships one."""
    if not schema_path.is_file():
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(schema_path.read_text()))
    errors = sorted(validator.iter_errors(values), key=lambda e: list(map(str, e.path)))
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]


def describe(plans: list[ModelPlan]) -> str:
    """One line per model: what was planned."""
    return "\n".join(
        f"{p.name}: Gemma 3 {p.variant.name} on {p.tensor_parallel_size}x {p.accelerator.name}, "
        f"{p.capacity.kv_capacity_tokens:,} KV tokens, "
        f"{p.capacity.max_concurrent_full_context} sequences of {p.max_model_len} tokens at once"
        for p in plans
    )
