"""The committed Grafana dashboards: fresh, well-formed, and querying only current metric names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gemma_serve.metrics import names
from gemma_serve.metrics.dashboards import DASHBOARD_DIR, NAMES, load_dashboards, render_dashboards
from gemma_serve.metrics.dashboards.__main__ import main
from gemma_serve.metrics.edge import SPECS
from tests.metrics.prom.promql import all_queries, metric_names

BOARDS = load_dashboards()
_VLLM_CONSTANTS = {
    value
    for value in (getattr(names, n) for n in names.__all__)
    if isinstance(value, str) and value.startswith("ray_vllm_")
}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def used_names() -> set[str]:
    return {name for q in all_queries() for name in metric_names(q.expr)}


def deprecated(name: str) -> bool:
    return name in names.DEPRECATED or name.startswith(names.DEPRECATED_PREFIXES)


def test_committed_json_equals_a_fresh_generation() -> None:
    fresh = render_dashboards()
    for name in NAMES:
        committed = (DASHBOARD_DIR / f"{name}.json").read_text()
        assert committed == fresh[name], f"{name}.json is stale: python -m {main.__module__}"


def test_generator_check_mode(tmp_path: Any) -> None:
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0


def test_the_issue_panels_are_there() -> None:
    titles = {name: " | ".join(p["title"] for p in panels(b)).lower() for name, b in BOARDS.items()}
    for word in ("requests/s", "error", "time to first token", "inter-token", "end-to-end",
                 "tokens/s"):  # fmt: skip
        assert word in titles["overview"], word
    for word in ("kv-cache", "running and waiting", "preemptions", "prefix-cache hit rate"):
        assert word in titles["engine"], word
    for word in ("replicas", "queued", "saturation", "rejected"):
        assert word in titles["capacity"], word


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_is_importable_by_hand(name: str) -> None:
    board = BOARDS[name]
    assert board["uid"] == f"gemma-serve-{name}"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["model"]["includeAll"] and variables["model"]["multi"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    for panel in panels(board):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        assert panel["description"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert "$model" in target["expr"], f"{panel['title']} ignores the model selector"


def test_no_deprecated_vllm_name_anywhere() -> None:
    found = sorted(n for n in used_names() if deprecated(n))
    assert not found, f"deprecated vLLM metrics queried: {found}"


def test_the_deprecated_check_catches_old_names() -> None:
    for old in ("ray_vllm_gpu_cache_usage_perc", "ray_vllm_time_per_output_token_seconds_bucket",
                "ray_vllm_gpu_prefix_cache_hit_rate", "ray_vllm_num_preemptions",
                "vllm:num_requests_running"):  # fmt: skip
        found = metric_names(f'sum(rate({old}{{model_name=~"m"}}[1m]))')
        assert any(deprecated(n.removesuffix("_bucket")) for n in found), old
    assert not deprecated("ray_vllm_request_time_per_output_token_seconds")
    assert not deprecated("ray_vllm_num_preemptions_total")


def test_vllm_names_come_from_the_checked_list() -> None:
    bases = {re.sub(r"_(bucket|sum|count)$", "", n) for n in used_names()
             if n.startswith("ray_vllm_")}  # fmt: skip
    assert bases <= _VLLM_CONSTANTS, bases - _VLLM_CONSTANTS


def test_every_name_is_one_gemma_serve_vllm_or_serve_exports() -> None:
    """Edge names from the declarations, engine and Serve names from metrics.names."""
    edge = set()
    for spec in SPECS:
        parts = ("_bucket", "_count", "_sum") if spec.kind == "histogram" else ("",)
        edge |= {spec.exported + part for part in parts}
    serve = {names.SERVE_REPLICA_HEALTHY, names.SERVE_TARGET_REPLICAS}
    used = {n for n in used_names() if ":" not in n}  # recording rules are outputs
    unknown = {n for n in used if n not in edge | serve and not n.startswith("ray_vllm_")}
    assert not unknown, unknown


def test_every_declared_edge_metric_is_queried() -> None:
    """A metric nothing queries is dead weight on the serving path."""
    used = used_names()
    unused = [s.name for s in SPECS if not any(n.startswith(s.exported) for n in used)]
    assert not unused, unused
