"""Every vLLM name and label the dashboards and rules use, checked against the installed vLLM.

A subprocess builds the real V1 `PrometheusStatLogger` for the prepared
gemma-3-270m checkpoint (config only: no engine starts) and prints what it
declares, with the names vLLM's own Ray wrappers (`RayPrometheusStatLogger`,
what the replicas run) give them and the tag keys those wrappers add. Ray's
exporter then prefixes `ray_`. This is the "No data" bug caught at test time;
the running stack's real export is checked by test_live_queries.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gemma_serve.metrics import names
from gemma_serve.metrics.edge import SPECS
from tests.metrics.prom.promql import all_queries, metric_names

pytestmark = pytest.mark.slow

_SCRIPT = """
import json, sys
from prometheus_client import REGISTRY, generate_latest
from vllm.engine.arg_utils import EngineArgs
from vllm.entrypoints.generate.base.protocol import RequestResponseMetadata
from vllm.entrypoints.serve.engine.protocol import UsageInfo
from vllm.v1.metrics.loggers import PrometheusStatLogger
from vllm.v1.metrics.ray_wrappers import RayPrometheusMetric, RayPrometheusStatLogger
from gemma_serve.metrics.middleware import _usage_from_state

args = EngineArgs(model=sys.argv[1], served_model_name=["gemma-3-270m"], enforce_eager=True,
                  max_model_len=2048)
PrometheusStatLogger(args.create_engine_config(), engine_indexes=[0])
exposition = generate_latest(REGISTRY).decode()
names = sorted({line.split("{")[0].split(" ")[0] for line in exposition.splitlines()
                if line.startswith("vllm:")})
meta = RequestResponseMetadata(request_id="r")
meta.final_usage_info = UsageInfo(prompt_tokens=5, completion_tokens=7, total_tokens=12)
print(json.dumps({
    "exposition": exposition,
    "ray_names": {n: RayPrometheusMetric._get_sanitized_opentelemetry_name(n) for n in names},
    "ray_tags": list(RayPrometheusMetric._get_tag_keys(["model_name", "engine"])),
    "ray_logger_is_prometheus": issubclass(RayPrometheusStatLogger, PrometheusStatLogger),
    "usage": _usage_from_state({"state": {"request_metadata": meta}}),
}))
"""
#: Labels Prometheus adds to every scraped series, and the histogram bucket label.
_ALWAYS = {"instance", "job", "le"}
#: Tags Ray's exporter puts on every series of a worker process.
_RAY = {"Component", "NodeAddress", "SessionName", "Version", "WorkerId"}


@pytest.fixture(scope="module")
def export(checkpoint_270m: Path) -> dict[str, Any]:
    """What vLLM declares for gemma-3-270m, its Ray names, and the usage the middleware reads."""
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(checkpoint_270m)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    exported: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return exported


def ray_series(export: dict[str, Any]) -> dict[str, set[str]]:
    """Every vLLM sample name as Ray exports it, with its labels (vLLM's + ReplicaId)."""
    labels: dict[str, set[str]] = {}
    extra = set(export["ray_tags"]) - {"model_name", "engine"}
    for family in text_string_to_metric_families(export["exposition"]):
        for sample in family.samples:
            if sample.name.startswith("vllm:"):
                name = "ray_" + export["ray_names"].get(sample.name, sample.name.replace(":", "_"))
                labels.setdefault(name, set()).update(sample.labels, extra, _RAY)
    return labels


def test_our_sanitising_is_vllms() -> None:
    """names.ray_exported must agree with vLLM's own Ray name sanitiser (checked below)."""
    assert names.ray_exported("vllm:num_requests_running") == "ray_vllm_num_requests_running"


def test_ray_names_match_vllms_sanitiser(export: dict[str, Any]) -> None:
    for vllm_name, ray_name in export["ray_names"].items():
        assert names.ray_exported(vllm_name) == "ray_" + ray_name, vllm_name
    assert export["ray_logger_is_prometheus"]  # so vLLM adds no second, default logger
    assert "ReplicaId" in export["ray_tags"]


def test_every_vllm_name_used_is_exported_by_the_installed_vllm(export: dict[str, Any]) -> None:
    exported = ray_series(export)
    used = {n for q in all_queries() for n in metric_names(q.expr) if n.startswith("ray_vllm_")}
    assert used, "the dashboards query no vLLM metric at all?"
    missing = sorted(used - set(exported))
    assert not missing, f"not exported by vLLM V1 through Ray: {missing}"
    for name in used:
        assert {"model_name", "engine", "ReplicaId"} <= exported[name], name


def test_the_named_constants_are_exported(export: dict[str, Any]) -> None:
    exported = ray_series(export)
    for const, vllm_name in names.VLLM_NAMES.items():
        value = getattr(names, const)
        assert value == names.ray_exported(vllm_name), const
        assert value in exported or f"{value}_bucket" in exported, const
    assert not [n for n in exported if n in names.DEPRECATED]


def known_series(export: dict[str, Any]) -> dict[str, set[str]]:
    known = ray_series(export)
    for spec in SPECS:
        tags = set(spec.tag_keys) | _RAY
        parts = ("_bucket", "_count", "_sum") if spec.kind == "histogram" else ("",)
        for part in parts:
            known[spec.exported + part] = tags
    known[names.SERVE_REPLICA_HEALTHY] = {"deployment", "replica", "application"} | _RAY
    known[names.SERVE_TARGET_REPLICAS] = {"deployment", "application"} | _RAY
    for q in all_queries():
        if q.source.startswith("record "):
            known[q.source.removeprefix("record ")] = {"model"}
    return known


def test_every_label_used_exists_on_its_series(export: dict[str, Any]) -> None:
    known = known_series(export)
    problems = []
    for q in all_queries():
        used = metric_names(q.expr)
        unknown = used - set(known)
        if unknown:
            problems.append(f"{q.source}: unknown series {sorted(unknown)}")
            continue
        available = set().union(*(known[n] for n in used)) | _ALWAYS
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
    return re.search(rf'label_replace\(.+?,\s*"{label}"', expr) is not None


def test_vllm_leaves_usage_where_the_middleware_reads_it(export: dict[str, Any]) -> None:
    assert export["usage"] == [5, 7]
