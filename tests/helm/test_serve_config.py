"""serveConfigV2 in the rendered RayService is gemma-serve's own config, and it plans.

The values' `gemmaServe` goes through Helm into the RayService; here it comes
back out and is loaded the way KubeRay's Serve deploy will load it: Ray's
ServeDeploySchema, then gemma-serve's DeploymentConfig, the capacity planner
and the application builder itself (which binds deployments, no Ray started).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from gemma_serve.config.loader import validate_config
from gemma_serve.config.models import DeploymentConfig
from gemma_serve.k8s import ray_accelerator_type
from gemma_serve.planner import HostFacts, plan_deployment
from tests.helm.chart import EXAMPLES, OVERLAYS, manifests, merged_values, one, read_values

CASES = [*EXAMPLES, *OVERLAYS]
IDS = [*(f"examples/{p.name}" for p in EXAMPLES), *(p.name for p in OVERLAYS)]


def _rendered(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(values as given, values as merged by Helm, the RayService)."""
    values = read_values(path)
    return values, merged_values(values), one(manifests(values), "RayService")


def _serve_config(rs: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(rs["spec"]["serveConfigV2"])
    return loaded


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_serve_config_loads_with_the_config_model_and_plans(path: Path) -> None:
    values, merged, rs = _rendered(path)
    serve = _serve_config(rs)
    ServeDeploySchema.model_validate(serve)  # what Ray Serve's deploy accepts
    (app,) = serve["applications"]
    assert app["name"] == "gemma-serve"
    assert app["route_prefix"] == "/"
    assert app["import_path"] == "gemma_serve.serve.app:build_app"
    assert serve["http_options"] == {"host": "0.0.0.0", "port": 8000}

    config = validate_config(app["args"]["config"])
    # One source of truth: exactly the values' gemmaServe, nothing added or lost.
    assert config == validate_config(merged["gemmaServe"])
    assert app["args"]["config"] == merged["gemmaServe"]
    given = [validate_config({"models": [m]}).models[0] for m in values["gemmaServe"]["models"]]
    assert list(config.models) == given
    for plan in plan_deployment(config, HostFacts(cores_per_node=8)).models:
        assert plan.capacity.fits, plan.name
        assert plan.capacity.kv_capacity_tokens >= plan.max_model_len, plan.name


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_application_builder_accepts_the_serve_config(path: Path) -> None:
    from ray.serve.deployment import Application

    from gemma_serve.serve.app import build_app

    (app,) = _serve_config(_rendered(path)[2])["applications"]
    assert isinstance(build_app(app["args"]), Application)


def _group_name(kind: str) -> str:
    return "cpu" if kind == "cpu" else f"gpu-{kind}"


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_worker_groups_fit_the_planned_replicas(path: Path, tmp_path: Path) -> None:
    """Each kind has a group whose pods hold whole replicas, enough of them at max.

    A replica's unit of a pod is its GPUs, or on CPU the cores its engine binds.
    """
    _, merged, rs = _rendered(path)
    config = DeploymentConfig.model_validate(merged["gemmaServe"])
    launch = plan_deployment(config, HostFacts(cores_per_node=8))
    cluster = rs["spec"]["rayClusterConfig"]
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    kinds = {m.hardware.accelerator for m in config.models}
    assert set(groups) == {_group_name(k) for k in kinds}
    for kind in kinds:
        group = groups[_group_name(kind)]
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        pod_cpus = int(limits["cpu"])
        if kind == "cpu":
            assert "resources" not in group
            assert group["rayStartParams"]["num-cpus"] == str(pod_cpus)
            pod_units = pod_cpus
        else:
            assert group["resources"] == {f"accelerator_type:{ray_accelerator_type(kind)}": "1"}
            pod_units = int(limits["nvidia.com/gpu"])
        settings = merged["workerGroups"][kind]
        need_min = need_max = 0
        for model, plan in zip(config.models, launch.models, strict=True):
            if model.hardware.accelerator != kind:
                continue
            bundles = plan.resources.placement_bundles
            replica_gpus = sum(b.get("GPU", 0) for b in bundles) or plan.resources.num_gpus
            replica_cpus = sum(b.get("CPU", 0) for b in bundles) or plan.resources.num_cpus
            if kind == "cpu":
                assert replica_gpus == 0
                units = model.hardware.cpu_cores
                assert units is not None, model.name
                assert replica_cpus == units, model.name  # Ray reserves the cores it binds
            else:
                assert replica_gpus == model.hardware.count
                units = int(replica_gpus)
            per_pod = pod_units // units
            assert per_pod >= 1, f"{model.name}: a replica does not fit one pod"
            assert per_pod * replica_cpus <= pod_cpus, f"{model.name}: not enough Ray CPUs"
            need_min += math.ceil(model.autoscaling.min_replicas / per_pod)
            need_max += math.ceil(model.autoscaling.max_replicas / per_pod)
        expected_min = need_min if settings["minPods"] == "auto" else settings["minPods"]
        expected_max = need_max if settings["maxPods"] == "auto" else settings["maxPods"]
        assert group["minReplicas"] == expected_min
        assert group["maxReplicas"] == expected_max
        assert expected_min <= group["replicas"] <= expected_max
        if not cluster["enableInTreeAutoscaling"]:
            assert group["replicas"] == expected_max  # fixed pods: room for max_replicas


def test_auto_pods_follow_serve_autoscaling() -> None:
    """27B TP=2 on 8-GPU pods: 4 replicas a pod, so 7 replicas need 2 pods."""
    (path,) = [p for p in OVERLAYS if p.name == "two-kinds-podmonitor-hostpath.yaml"]
    _, _, rs = _rendered(path)
    groups = {g["groupName"]: g for g in rs["spec"]["rayClusterConfig"]["workerGroupSpecs"]}
    h100 = groups["gpu-h100-80gb"]
    assert (h100["minReplicas"], h100["maxReplicas"], h100["replicas"]) == (1, 2, 2)
    assert h100["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "96"
    a100 = groups["gpu-a100-80gb"]
    assert (a100["minReplicas"], a100["maxReplicas"]) == (1, 3)


def test_a_cpu_replica_reserves_the_cores_its_engine_binds() -> None:
    """Else Ray packs more replicas on a CPU pod than it has cores, bound to the same cores."""
    (path,) = [p for p in OVERLAYS if p.name == "cpu-and-gpu.yaml"]
    config = DeploymentConfig.model_validate(_rendered(path)[1]["gemmaServe"])
    plans = plan_deployment(config, HostFacts(cores_per_node=8)).models
    cpu = [(m, p) for m, p in zip(config.models, plans, strict=True) if p.cpu is not None]
    assert cpu
    for model, plan in cpu:
        assert plan.resources.num_cpus == model.hardware.cpu_cores, model.name
