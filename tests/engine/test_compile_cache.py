"""A warm compiled CPU start loads vLLM's AOT compile cache (real torch, real vLLM loader)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from gemma_serve.engine import compile_cache

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("tiny_compiled.py")


def _start(cache_root: Path, *args: str) -> dict[str, Any]:
    """One process through vLLM's compile decorator, as an engine worker starts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VLLM_CACHE_ROOT": str(cache_root)}
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A cache root after one cold start: vLLM compiled and saved its AOT artifact."""
    root = tmp_path_factory.mktemp("vllm-cache")
    return root, _start(root)


@pytest.mark.slow
def test_a_cold_start_compiles_and_saves_where_we_predict(
    cold: tuple[Path, dict[str, Any]],
) -> None:
    root, first = cold
    assert (first["compiles"], first["loads"]) == (1, 0)
    (path,) = first["predicted"]
    assert Path(path).is_file() and Path(path).is_relative_to(root)


@pytest.mark.slow
def test_without_the_patch_vllm_compiles_again(cold: tuple[Path, dict[str, Any]]) -> None:
    # The bug this module works around; when this goes red, the patch can be retired.
    root, _ = cold
    again = _start(root)
    assert (again["compiles"], again["loads"]) == (1, 0)


@pytest.mark.slow
def test_with_the_patch_vllm_loads_its_saved_graph(cold: tuple[Path, dict[str, Any]]) -> None:
    root, _ = cold
    warm = _start(root, "--patch")
    assert (warm["compiles"], warm["loads"]) == (0, 1)


def _args(**overrides: object) -> Namespace:
    return Namespace(**{"enforce_eager": False, "worker_cls": "auto", **overrides})


def test_a_compiled_cpu_engine_runs_on_the_patched_worker() -> None:
    args = _args()
    compile_cache.configure(args, on_cpu=True)
    assert args.worker_cls == compile_cache.WORKER_CLS


@pytest.mark.parametrize(
    ("overrides", "on_cpu"),
    [({"enforce_eager": True}, True), ({"worker_cls": "my.Worker"}, True), ({}, False)],
)
def test_eager_gpu_or_a_chosen_worker_is_left_alone(
    overrides: dict[str, object], on_cpu: bool
) -> None:
    args = _args(**overrides)
    before = args.worker_cls
    compile_cache.configure(args, on_cpu=on_cpu)
    assert args.worker_cls == before


def test_the_patched_worker_is_what_vllm_resolves() -> None:
    from vllm.utils.import_utils import resolve_obj_by_qualname

    assert resolve_obj_by_qualname(compile_cache.WORKER_CLS) is compile_cache.CompileCacheCPUWorker
