"""Every vLLM name and label the dashboards and rules use, checked against the installed vLLM.

A subprocess builds the real V1 `PrometheusStatLogger` for the prepared
gemma-3-270m checkpoint (config only: no engine starts) and prints what it
registers, which is what a running engine's /metrics exports. This is the
"No data" bug caught at test time instead of on a dashboard.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gemma_serve.metrics import vllm_names
from gemma_serve.metrics.edge import create_edge_metrics
from gemma_serve.metrics.promql import all_queries, metric_names

pytestmark = pytest.mark.slow

_SCRIPT = """
import json, sys
from prometheus_client import REGISTRY, generate_latest
from vllm.engine.arg_utils import EngineArgs
from vllm.entrypoints.generate.base.protocol import RequestResponseMetadata
from vllm.entrypoints.serve.engine.protocol import UsageInfo
from vllm.v1.metrics.loggers import PrometheusStatLogger
from gemma_serve.metrics.middleware import _usage_from_state

args = EngineArgs(model=sys.argv[1], served_model_name=["gemma-3-270m"], enforce_eager=True,
                  max_model_len=2048)
PrometheusStatLogger(args.create_engine_config(), engine_indexes=[0])
meta = RequestResponseMetadata(request_id="r")
meta.final_usage_info = UsageInfo(prompt_tokens=5, completion_tokens=7, total_tokens=12)
print(json.dumps({"exposition": generate_latest(REGISTRY).decode(),
                  "usage": _usage_from_state({"state": {"request_metadata": meta}})}))
"""
#: Labels Prometheus adds to every scraped series, and the histogram bucket label.
_ALWAYS = {"instance", "job", "le"}


@pytest.fixture(scope="module")
def export(checkpoint_270m: Path) -> dict[str, Any]:
    """What vLLM registers for gemma-3-270m, and the usage the middleware reads from it."""
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(checkpoint_270m)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    exported: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return exported


def series_labels(exposition: str) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


def known_series(vllm_exposition: str) -> dict[str, set[str]]:
    registry = CollectorRegistry()
    model = create_edge_metrics(registry).for_model("m")
    model.count_request("200")
    model.set_replicas(1, desired=1)
    model.set_max_ongoing_requests(1)
    known = series_labels(generate_latest(registry).decode())
    known.update(series_labels(vllm_exposition))
    for q in all_queries():
        if q.source.startswith("record "):
            known[q.source.removeprefix("record ")] = {"model"}
    return known


def test_every_vllm_name_used_is_exported_by_the_installed_vllm(export: dict[str, Any]) -> None:
    exported = series_labels(export["exposition"])
    used = {n for q in all_queries() for n in metric_names(q.expr) if n.startswith("vllm:")}
    assert used, "the dashboards query no vLLM metric at all?"
    missing = sorted(used - set(exported))
    assert not missing, f"not exported by vLLM V1: {missing}"
    for name in used:
        assert {"model_name", "engine"} <= exported[name], name


def test_the_named_constants_are_exported(export: dict[str, Any]) -> None:
    exported = series_labels(export["exposition"])
    for const in vllm_names.__all__:
        value = getattr(vllm_names, const)
        if isinstance(value, str) and value.startswith("vllm:"):
            assert value in exported or f"{value}_bucket" in exported, const
    assert not [n for n in exported if n in vllm_names.DEPRECATED]


def test_every_label_used_exists_on_its_series(export: dict[str, Any]) -> None:
    known = known_series(export["exposition"])
    problems = []
    for q in all_queries():
        names = metric_names(q.expr)
        unknown = names - set(known)
        if unknown:
            problems.append(f"{q.source}: unknown series {sorted(unknown)}")
            continue
        available = set().union(*(known[n] for n in names)) | _ALWAYS
        for name, matchers in re.findall(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}", q.expr):
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers):
                if label not in known.get(name, set()) | _ALWAYS:
                    problems.append(f"{q.source}: {name} has no label {label}")
        for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", q.expr):
            for label in filter(None, (x.strip() for x in group.split(","))):
                if label not in available and not _made_by_label_replace(q.expr, label):
                    problems.append(f"{q.source}: no series carries label {label}")
    assert not problems, "\n".join(problems)


def _made_by_label_replace(expr: str, label: str) -> bool:
    return re.search(rf'label_replace\([^,]+,\s*"{label}"', expr) is not None


def test_vllm_leaves_usage_where_the_middleware_reads_it(export: dict[str, Any]) -> None:
    assert export["usage"] == [5, 7]
