"""The benchmark is a client: no Ray and no `gemma_serve.serve` in gemma_serve/bench or benchmarks/.

Static: every import statement of every module (at top level, inside functions,
under TYPE_CHECKING, `importlib.import_module("...")` with a literal) is parsed
with `ast`. Dynamic: importing the packages in a fresh interpreter leaves `ray`
and `gemma_serve.serve` out of sys.modules, so no dependency drags them in.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENT_CODE = (
    REPO / "gemma_serve" / "bench",
    REPO / "benchmarks",
    REPO / "gemma_serve/cli/bench.py",
)
FORBIDDEN = ("ray", "gemma_serve.serve")


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in `source`, wherever it is."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # `from gemma_serve import serve`
                yield node.lineno, f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def client_files() -> list[Path]:
    files: list[Path] = []
    for root in CLIENT_CODE:
        files += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return files


def test_the_scan_sees_every_kind_of_import() -> None:
    source = (
        "import ray\n"
        "from gemma_serve import serve\n"
        "def f():\n    from ray.serve.llm import build_openai_app\n"
        "def g():\n    importlib.import_module('gemma_serve.serve.app')\n"
        "from gemma_serve.bench import launch\n"
    )
    found = [m for _, m in imported_modules(source) if _forbidden(m)]
    assert found == ["ray", "gemma_serve.serve", "ray.serve.llm", "ray.serve.llm.build_openai_app",
                     "gemma_serve.serve.app"]  # fmt: skip


@pytest.mark.parametrize("path", client_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_ray_or_the_server(path: Path) -> None:
    bad = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for line, module in imported_modules(path.read_text())
        if _forbidden(module)
    ]
    assert not bad, "the benchmark is a client: " + "; ".join(bad)


def test_importing_the_benchmark_loads_neither() -> None:
    """A fresh interpreter: whatever our modules import must not import Ray or the server."""
    modules = ["gemma_serve.bench", "gemma_serve.cli.bench"] + [
        "benchmarks." + p.stem for p in sorted((REPO / "benchmarks").glob("*.py"))
        if p.stem not in ("__init__", "__main__")
    ]  # fmt: skip
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n    importlib.import_module(m)\n"
        # what the suite imports late: vLLM's argv parser and its benchmark client
        "from benchmarks.vllm_args import parse_vllm_argv\n"
        "parse_vllm_argv(['--model', 'm', '--enforce-eager'])\n"
        "import vllm.benchmarks.serve\n"
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "benchmarks.run_all" in loaded and "vllm.benchmarks.serve" in loaded
    assert [m for m in loaded if _forbidden(m)] == []
