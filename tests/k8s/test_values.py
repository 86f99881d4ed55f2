"""The chart's values models agree with the config model, Ray, and the chart's defaults."""

from __future__ import annotations

import re
import typing

import yaml
from ray.util.accelerators import accelerators

from gemma_serve import catalogue
from gemma_serve.config._kinds import AcceleratorName
from gemma_serve.k8s import ChartValues, GpuAccelerator, chart_dir, ray_accelerator_type


def test_gpu_kinds_are_the_catalogues() -> None:
    assert list(typing.get_args(GpuAccelerator)) == catalogue.gpu_kinds()
    assert list(typing.get_args(AcceleratorName)) == catalogue.accelerator_names()


def test_ray_accelerator_types_are_rays_names() -> None:
    """Ray auto-labels only `A100`; the sized names are for nodes labelled by hand (the chart)."""
    ray_names = {
        v for k, v in vars(accelerators).items() if k.startswith("NVIDIA_") and isinstance(v, str)
    }
    for kind in typing.get_args(GpuAccelerator):
        assert ray_accelerator_type(kind) in ray_names, kind


def test_chart_helper_maps_like_python() -> None:
    helpers = (chart_dir() / "templates" / "_catalogue.tpl").read_text()
    block = helpers.split('define "gemma-serve.rayAcceleratorTypes" -}}')[1].split("{{- end")[0]
    mapping = yaml.safe_load(block)
    assert mapping == {k: ray_accelerator_type(k) for k in typing.get_args(GpuAccelerator)}


def test_chart_defaults_are_valid_values() -> None:
    values = yaml.safe_load((chart_dir() / "values.yaml").read_text())
    parsed = ChartValues.model_validate(values)
    groups = parsed.workerGroups.model_dump(by_alias=True)
    assert set(groups) == {*typing.get_args(GpuAccelerator), "cpu"}
    assert parsed.gemmaServe.server.host == "0.0.0.0"


def test_chart_ray_version_is_the_pinned_ray() -> None:
    import ray

    values = yaml.safe_load((chart_dir() / "values.yaml").read_text())
    assert values["ray"]["version"] == ray.__version__
    pyproject = (chart_dir().parents[1] / "pyproject.toml").read_text()
    assert re.search(rf'"ray\[serve\]=={re.escape(ray.__version__)}"', pyproject)


def test_default_model_is_the_1b_l4_profile() -> None:
    values = yaml.safe_load((chart_dir() / "values.yaml").read_text())
    profile = chart_dir().parents[1] / "configs" / "gemma3-1b-l4.yaml"
    assert values["gemmaServe"]["models"] == yaml.safe_load(profile.read_text())["models"]
