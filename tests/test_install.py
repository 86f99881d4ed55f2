"""The install leaves no package that fails to import (torchvision beside torch, vLLM, Ray)."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import site
import subprocess
import sys
from pathlib import Path

import pytest

#: Top-level modules that only import under conditions we do not have (a GPU, a display).
_NEEDS_HARDWARE = {"triton", "nvidia", "cupy", "pynvml"}


def _top_level_modules() -> list[str]:
    """Top-level modules of distributions installed on sys.path (not vendored copies)."""
    paths = {str(Path(p).resolve()) for p in site.getsitepackages()}
    names = set()
    for dist in md.distributions():
        if str(Path(str(dist.locate_file(""))).resolve()) not in paths:
            continue
        for name in (dist.read_text("top_level.txt") or "").split():
            if name.isidentifier() and not name.startswith("_") and name not in _NEEDS_HARDWARE:
                names.add(name)
    return sorted(names)


def test_the_engine_stack_imports_together() -> None:
    code = (
        "import torch, torchvision, vllm, ray.serve, transformers, gemma_serve; "
        "import torchvision.ops; print(torch.__version__, torchvision.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    torch_version, vision_version = out.stdout.split()[:2]
    assert torch_version.startswith("2.13.0") and vision_version.startswith("0.28.0")


@pytest.mark.slow
def test_every_installed_package_imports() -> None:
    code = (
        "import importlib, sys\nbad=[]\n"
        f"for n in {_top_level_modules()!r}:\n"
        "    try: importlib.import_module(n)\n"
        "    except Exception as e: bad.append(f'{n}: {e!r}'[:200])\n"
        "print('\\n'.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""
    assert importlib.util.find_spec("vllm") is not None
