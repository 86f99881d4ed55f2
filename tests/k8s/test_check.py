"""`python -m gemma_serve.k8s check`: values merged like Helm, validated and planned."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gemma_serve.errors import ConfigError, PlanError
from gemma_serve.k8s import chart_dir, check_values, coalesce, merged_values
from gemma_serve.k8s.__main__ import main
from tests.helm.chart import EXAMPLES, chart, read_values


def test_coalesce_merges_like_helm() -> None:
    defaults = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}
    over = {"a": {"c": [3]}, "d": None, "e": {"g": 2}}
    assert coalesce(defaults, over) == {"a": {"b": 1, "c": [3]}, "e": {"f": 1, "g": 2}}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_merged_values_equal_helms(path: Path) -> None:
    assert merged_values(path) == chart().merge_values(read_values(path))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_check_and_plan(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(path)]) == 0
    assert "KV tokens" in capsys.readouterr().out


def test_a_model_too_big_for_its_gpu_is_a_plan_error(tmp_path: Path) -> None:
    values = merged_values(chart_dir() / "examples" / "gemma3-27b-h100.yaml")
    values["gemmaServe"]["models"][0]["hardware"] = {"accelerator": "l4", "count": 1}
    with pytest.raises(PlanError):
        check_values(values)
    bad = tmp_path / "bad.yaml"
    bad.write_text("gemmaServe:\n  models:\n    - {name: x, variant: 2b, source: y}\n")
    with pytest.raises(ConfigError, match=r"^/gemmaServe/models/0/variant: '2b' is not one of"):
        check_values(merged_values(bad))
    assert main(["check", str(bad)]) == 2


def test_check_applies_the_charts_schema_to_kubernetes_fields(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workerGroups:\n  l4:\n    tolerations: [{key: a, effects: NoSchedule}]\n")
    with pytest.raises(ConfigError, match=r"^/workerGroups/l4/tolerations/0: Additional prop"):
        check_values(merged_values(bad))


def test_drift_checks_pass_on_this_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--check"]) == 0
    assert main(["sync", "--check"]) == 0
    capsys.readouterr()


def test_the_chart_is_found_in_a_checkout_or_named(tmp_path: Path) -> None:
    assert (chart_dir() / "Chart.yaml").is_file()
    named = tmp_path / "chart"
    shutil.copytree(chart_dir(), named)
    assert chart_dir(named) == named  # e.g. an installed wheel, with the chart unpacked apart


def test_no_chart_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gemma_serve.k8s", "--chart", str(tmp_path), "check", "x.yaml"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert f"no Helm chart at {tmp_path}" in proc.stderr and "--chart" in proc.stderr
