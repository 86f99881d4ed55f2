"""The rule file: fresh, complete, accepted by promtool, each alert's firing condition tested."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gemma_serve.metrics.alerts import (
    RULES_PATH,
    TESTS_PATH,
    load_rule_groups,
    prometheus_rule,
    render_rules,
    render_tests,
)
from gemma_serve.metrics.alerts._cases import CASES

promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing (.ci/run installs `prometheus`)"
)
ALERTS = {r["alert"]: r for g in load_rule_groups() for r in g["rules"] if "alert" in r}


def run(*args: str, cwd: Path = RULES_PATH.parent) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)


def test_committed_files_equal_a_fresh_generation() -> None:
    assert RULES_PATH.read_text() == render_rules(), "run python -m gemma_serve.metrics.alerts"
    assert TESTS_PATH.read_text() == render_tests(), "run python -m gemma_serve.metrics.alerts"


def test_the_issue_alerts_are_there() -> None:
    wanted = ("HighErrorRate", "TTFTBudgetBurnFast", "TTFTBudgetBurnSlow", "KVCacheNearFull",
              "QueueGrowing", "Preemptions", "NoHealthyReplicas")  # fmt: skip
    assert sorted(ALERTS) == sorted(f"GemmaServe{w}" for w in wanted)


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_alert_has_summary_runbook_and_severity(name: str) -> None:
    rule = ALERTS[name]
    assert rule["labels"]["severity"] in ("warning", "critical")
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    assert annotations["runbook"].count("\n") >= 3  # numbered steps, not a stub
    assert rule["for"]


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_every_alert_has_a_firing_case(name: str) -> None:
    firing = [e for c in CASES for e in c.expects if e.alert == name and e.firing]
    assert firing, f"{name} has no promtool case where it fires"


@promtool
def test_promtool_check_rules() -> None:
    result = run("check", "rules", RULES_PATH.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in load_rule_groups())} rules" in result.stdout


@promtool
def test_promtool_test_rules() -> None:
    result = run("test", "rules", TESTS_PATH.name)
    assert result.returncode == 0, result.stdout + result.stderr


@promtool
@pytest.mark.parametrize("name", sorted(ALERTS))
def test_unit_tests_fail_when_the_condition_breaks(name: str, tmp_path: Path) -> None:
    """Replace one alert's condition with one that never holds: promtool must notice."""
    data = yaml.safe_load(RULES_PATH.read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == name:
                rule["expr"] = "vector(1) < 0"
    (tmp_path / RULES_PATH.name).write_text(yaml.safe_dump(data))
    shutil.copy(TESTS_PATH, tmp_path / TESTS_PATH.name)
    result = run("test", "rules", TESTS_PATH.name, cwd=tmp_path)
    assert result.returncode != 0
    assert f"alertname: {name}" in result.stdout + result.stderr


def test_prometheus_rule_manifest() -> None:
    manifest = prometheus_rule("gemma-serve", namespace="llm", labels={"release": "prom"})
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["metadata"] == {"name": "gemma-serve", "namespace": "llm",
                                    "labels": {"release": "prom"}}  # fmt: skip
    assert manifest["spec"]["groups"] == load_rule_groups()
