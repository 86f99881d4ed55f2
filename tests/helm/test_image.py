"""docker/Dockerfile builds the image the chart runs: Ray's GPU image of the pinned Ray."""

from __future__ import annotations

import re

import ray
import yaml

from tests.helm.chart import CHART, REPO

DOCKERFILE = REPO / "docker" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_base_image_is_rays_gpu_image_of_the_pinned_ray() -> None:
    steps = _instructions()
    args = dict(a.split("=", 1) for kind, a in steps if kind == "ARG" and "=" in a)
    (base,) = [a for kind, a in steps if kind == "FROM"]
    base = base.replace("${RAY_VERSION}", args["RAY_VERSION"])
    assert base == f"rayproject/ray:{ray.__version__}-py311-gpu"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["ray"]["version"] == ray.__version__


def test_installs_gemma_serve_with_the_gpu_extra_as_the_charts_user() -> None:
    steps = _instructions()
    runs = " ".join(a for kind, a in steps if kind == "RUN")
    assert re.search(r"pip install .*-c requirements/constraints.txt .*\"\.\[gpu\]\"", runs)
    users = [a for kind, a in steps if kind == "USER"]
    assert users[-1] == "ray"  # uid 1000 in Ray's images
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == 1000
    env = " ".join(a for kind, a in steps if kind == "ENV")
    assert "RAY_SERVE_ENABLE_HA_PROXY=1" in env


def test_build_context_leaves_out_the_venv() -> None:
    lines = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    ignore = [line for line in lines if line and not line.startswith("#")]
    assert ignore[0] == "*"  # an allow-list: nothing enters the context unless listed
    copied = [a for kind, a in _instructions() if kind == "COPY"]
    for source in ("requirements/constraints.txt", "pyproject.toml", "gemma_serve"):
        assert any(source in c for c in copied)
        assert f"!{source}" in ignore or f"!{source}/" in ignore
