"""The suite reads a launch from `gemma-serve plan --json` (a subprocess), never the server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.planned import planned_model
from benchmarks.readme import REPO
from gemma_serve.bench.errors import BenchError


def test_the_default_config_plans_a_vllm_argv_and_engine_env() -> None:
    model = planned_model(REPO / "configs" / "default.yaml", cwd=REPO)
    argv = model.launch.vllm_argv
    assert model.name == "gemma-3-270m" and model.accelerator.name == "cpu"
    assert argv[argv.index("--served-model-name") + 1] == "gemma-3-270m"
    assert argv[argv.index("--model") + 1].endswith("gemma-3-270m")
    assert "VLLM_CPU_KVCACHE_SPACE" in model.launch.env


def test_a_bad_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [{name: x, variant: 3b}]\n")
    with pytest.raises(BenchError, match=r"gemma-serve plan --config .* failed: ") as caught:
        planned_model(bad, cwd=REPO)
    assert "\n" not in str(caught.value)


def test_a_missing_python_is_a_bench_error() -> None:
    with pytest.raises(BenchError, match="cannot run gemma-serve plan"):
        planned_model(REPO / "configs" / "default.yaml", python=sys.executable + "-missing")
