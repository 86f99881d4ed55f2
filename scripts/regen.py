"""`make regen`: write every file generated from a fact kept elsewhere; `--check` compares.

Each generated file has one source: GPU kinds and dtypes (the catalogue), Ray's
environment (serve/ray_env.py: the chart's pods and the images), the
README's quantized-fits table (the planner over the catalogue), the
dashboards and alert rules (gemma_serve.metrics), the chart's values schema
(the config models) and the chart's copies (configs/, metrics). CI runs
`--check` through tests/test_generated.py: a stale file fails the build.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gemma_serve.api.paths import not_exposed_markdown  # noqa: E402
from gemma_serve.catalogue._render import helm_catalogue, kinds_module  # noqa: E402
from gemma_serve.k8s.ray_env import helm_ray_env, with_ray_env  # noqa: E402
from gemma_serve.planner.fits import readme_section  # noqa: E402


def _dockerfile(relative: str) -> Callable[[], str]:
    """A renderer of the Dockerfile `relative` whose generated Ray env block is current."""
    return lambda: with_ray_env((ROOT / relative).read_text())


def _spliced(relative: str, *parts: tuple[str, Callable[[], str]]) -> Callable[[], str]:
    """A renderer of `relative`: the text between each `<!-- marker:begin/end -->` is `render()`."""

    def full() -> str:
        text = (ROOT / relative).read_text()
        for marker, render in parts:
            begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
            head, found, rest = text.partition(begin)
            _, found_end, tail = rest.partition(end)
            if not (found and found_end):
                raise SystemExit(f"{relative}: markers {begin} ... {end} are missing")
            text = f"{head}{begin}\n{render()}\n{end}{tail}"
        return text

    return full


#: Files rendered here: path (from the repository root) -> renderer.
RENDERED: dict[str, Callable[[], str]] = {
    "gemma_serve/config/_kinds.py": kinds_module,
    "helm/gemma-serve/templates/_catalogue.tpl": helm_catalogue,
    "helm/gemma-serve/templates/_rayenv.tpl": helm_ray_env,
    "docker/Dockerfile": _dockerfile("docker/Dockerfile"),
    "docker/Dockerfile.cpu": _dockerfile("docker/Dockerfile.cpu"),
    # The quantized-fits table: the planner over every variant x format x GPU kind; the
    # vLLM routes the edge does not expose (gemma_serve.api.paths).
    "README.md": _spliced(
        "README.md", ("quant-table", readme_section), ("endpoints-hidden", not_exposed_markdown)
    ),
}
#: Generators that own their files, run as modules with an optional `--check`.
MODULES = [
    ["gemma_serve.metrics.dashboards"],
    ["gemma_serve.metrics.alerts"],
    ["gemma_serve.k8s", "schema"],
    ["gemma_serve.k8s", "sync"],
    ["benchmarks.readme"],  # the README's benchmark tables, from benchmarks/results/
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/regen.py", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for relative, render in RENDERED.items():
        path, text = ROOT / relative, render()
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(relative)
        elif not path.is_file() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {relative}")
    for module in MODULES:
        cmd = [sys.executable, "-m", *module, *(["--check"] if args.check else [])]
        if subprocess.run(cmd, cwd=ROOT, check=False).returncode != 0:
            stale.append(" ".join(module))
    if stale:
        print("stale, run `make regen`:", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
