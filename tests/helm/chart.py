"""Render and lint helm/gemma-serve with Helm's own engine (helm-python-sdk, offline)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "gemma-serve"
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
#: The CPU cluster tests/cluster runs for real on one host.
CLUSTER_VALUES = REPO / "tests" / "cluster" / "values-cpu.yaml"
#: Overlays that switch on what the examples leave off (monitoring, ingress, secrets, CPU, ...).
OVERLAYS = [*sorted((Path(__file__).parent / "values").glob("*.yaml")), CLUSTER_VALUES]
BAD_VALUES = sorted((Path(__file__).parent / "bad-values").glob("*.yaml"))
RELEASE, NAMESPACE = "gemma", "llm"


@functools.cache
def chart() -> helm.Chart:
    """The chart, loaded once per test session."""
    return helm.Chart.load(CHART)


def read_values(*paths: Path) -> dict[str, Any]:
    """Values files as `helm -f a -f b` reads them (Helm's YAML parser, merged in order).

    Nulls are kept: Helm drops the chart's default only when it coalesces.
    """
    merged: dict[str, Any] = {}
    for path in paths:
        merged = _merge(merged, helm.values_from_yaml(path.read_text()))
    return merged


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def render(values: dict[str, Any] | None = None) -> dict[str, str]:
    """Template name -> rendered text; raises HelmValuesError / HelmRenderError."""
    return chart().render(values=values or {}, name=RELEASE, namespace=NAMESPACE)


def manifests(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every rendered Kubernetes object (NOTES.txt left out)."""
    docs: list[dict[str, Any]] = []
    for name, text in sorted(render(values).items()):
        if name.endswith("NOTES.txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of `kind`."""
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def lint(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Lint findings of warning severity or worse (strict: warnings count)."""
    report = helm.lint(CHART, values or {}, strict=True, namespace=NAMESPACE)
    messages: list[dict[str, Any]] = report["messages"]
    return [m for m in messages if m["severity"] >= 2] + [
        {"severity": 3, "error": e} for e in report["errors"]
    ]


def merged_values(values: dict[str, Any]) -> dict[str, Any]:
    """The values a release would use: the chart's defaults with `values` over them."""
    return chart().merge_values(values)
