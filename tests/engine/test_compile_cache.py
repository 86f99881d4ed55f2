"""A warm compiled CPU start loads vLLM's AOT compile cache (real torch, real vLLM loader)."""

from __future__ import annotations

import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from gemma_serve.engine import compile_cache

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("aot_artifact.py")


def _run(*args: str, inductor_cache: Path) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TORCHINDUCTOR_CACHE_DIR": str(inductor_cache),
        "VLLM_CPU_KVCACHE_SPACE": "1",
    }
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One stock-Inductor AOT artifact, saved by another process, as vLLM on CPU saves it."""
    where = tmp_path_factory.mktemp("aot")
    _run("save", str(where / "model"), inductor_cache=where / "inductor")
    return where / "model", where / "inductor"


@pytest.mark.slow
def test_vllms_loader_misses_the_cache_without_the_patch(artifact: tuple[Path, Path]) -> None:
    # The bug this module works around; when it goes red, the patch may be retired.
    model, inductor = artifact
    assert _run("load", str(model), inductor_cache=inductor).split()[-1] == "MISSED"


@pytest.mark.slow
def test_vllms_loader_loads_the_cache_with_the_patch(artifact: tuple[Path, Path]) -> None:
    model, inductor = artifact
    assert _run("load", str(model), "--patch", inductor_cache=inductor).split()[-1] == "LOADED"


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
