"""The chart renders with Helm's engine, lints clean, and every object validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemma_serve.serve.ray_env import RAY_ENV
from tests.helm.chart import (
    CLUSTER_VALUES,
    EXAMPLES,
    OVERLAYS,
    lint,
    manifests,
    merged_values,
    one,
    read_values,
    render,
)
from tests.k8s.kube import validate

CASES = [None, *EXAMPLES, *OVERLAYS]
IDS = ["defaults", *(f"examples/{p.name}" for p in EXAMPLES), *(p.name for p in OVERLAYS)]


def _values(path: Path | None) -> dict[str, Any]:
    return read_values(path) if path else {}


def _containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(group, pod spec, container) for every Ray container."""
    cluster = one(docs, "RayService")["spec"]["rayClusterConfig"]
    groups = [("head", cluster["headGroupSpec"])]
    groups += [(g["groupName"], g) for g in cluster["workerGroupSpecs"]]
    return [
        (name, g["template"]["spec"], c)
        for name, g in groups
        for c in g["template"]["spec"]["containers"]
    ]


def test_examples_cover_the_gpu_profiles() -> None:
    assert len(EXAMPLES) >= 6
    assert len(OVERLAYS) >= 3


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_every_rendered_object_validates(path: Path | None) -> None:
    docs = manifests(_values(path))
    assert docs, "nothing rendered"
    problems = {f"{d['kind']}/{d['metadata']['name']}": validate(d) for d in docs}
    assert not {k: v for k, v in problems.items() if v}, problems


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_lint_is_clean(path: Path | None) -> None:
    assert lint(_values(path)) == []


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_pods_are_non_root_without_privilege_escalation(path: Path | None) -> None:
    docs = manifests(_values(path))
    for group, pod, container in _containers(docs):
        assert pod["securityContext"]["runAsNonRoot"] is True, group
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, group
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, group
        assert sc["capabilities"]["drop"] == ["ALL"], group
        assert not sc.get("privileged"), group
    autoscaler = one(docs, "RayService")["spec"]["rayClusterConfig"].get("autoscalerOptions")
    if autoscaler:
        assert autoscaler["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_head_has_no_gpu_and_workers_request_theirs(path: Path | None) -> None:
    docs = manifests(_values(path))
    rs = one(docs, "RayService")
    cluster = rs["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    params = {g["groupName"]: g["rayStartParams"] for g in cluster["workerGroupSpecs"]}
    for group, _pod, container in _containers(docs):
        resources = container["resources"]
        gpus = resources.get("limits", {}).get("nvidia.com/gpu")
        if group in ("head", "cpu"):
            assert gpus is None, group
            assert "nvidia.com/gpu" not in resources.get("requests", {}), group
        else:
            assert int(gpus) >= 1, group
        if group == "cpu":  # Ray's CPUs are the pod's cores, requested and limited
            assert params["cpu"]["num-cpus"] == resources["limits"]["cpu"]
        if group != "head":
            assert resources["requests"] == resources["limits"], group


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_ray_token_authentication_is_on(path: Path | None) -> None:
    """KubeRay's authOptions: token mode, the named Secret or KubeRay's own."""
    values = merged_values(_values(path))
    cluster = one(manifests(_values(path)), "RayService")["spec"]["rayClusterConfig"]
    secret = values["ray"]["auth"]["secretName"]
    assert cluster["authOptions"] == {"mode": "token", **({"secretName": secret} if secret else {})}


def test_ray_token_authentication_can_be_turned_off() -> None:
    rs = one(manifests({"ray": {"auth": {"mode": "disabled", "secretName": "x"}}}), "RayService")
    assert rs["spec"]["rayClusterConfig"]["authOptions"] == {"mode": "disabled"}


def test_cpu_pods_hold_whole_replicas_and_run_the_cpu_image() -> None:
    """8-core pods: 270M on 2 cores is 4 a pod (1..6 replicas -> 1..2 pods), 1B on 4 is 2
    a pod (1 replica -> 1 pod); the GPU model keeps its own group and the GPU image."""
    docs = manifests(read_values(_overlay("cpu-and-gpu.yaml")))
    cluster = one(docs, "RayService")["spec"]["rayClusterConfig"]
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu-l4"}
    cpu = groups["cpu"]
    assert (cpu["minReplicas"], cpu["maxReplicas"]) == (2, 3)
    assert cpu["rayStartParams"] == {
        "num-cpus": "8", "metrics-export-port": "8080", "object-store-memory": "2000000000",
    }  # fmt: skip
    assert "resources" not in cpu  # no accelerator_type: KubeRay would refuse both
    (container,) = cpu["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/ml/gemma-serve-cpu:0.1.0"
    assert container["resources"]["limits"] == {"cpu": "8", "memory": "16Gi"}
    assert cpu["template"]["spec"]["nodeSelector"] == {
        "node.kubernetes.io/instance-type": "c7i.2xlarge"
    }
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["image"] == "gemma-serve:0.1.0"  # a GPU model: the head runs the GPU image
    assert groups["gpu-l4"]["template"]["spec"]["containers"][0]["image"] == head["image"]


def test_a_cpu_only_cluster_runs_the_cpu_image_everywhere() -> None:
    docs = manifests(read_values(CLUSTER_VALUES))
    images = {group: c["image"] for group, _, c in _containers(docs)}
    assert images == {"head": "gemma-serve-cpu:0.1.0", "cpu": "gemma-serve-cpu:0.1.0"}


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_ray_env_and_api_probes(path: Path | None) -> None:
    docs = manifests(_values(path))
    probes = merged_values(_values(path))["probes"]
    for group, _pod, container in _containers(docs):
        env = {e["name"]: e.get("value") for e in container["env"]}
        # Every pod runs Ray as the local `gemma-serve serve` does (serve/ray_env.py).
        assert {k: env.get(k) for k in RAY_ENV} == RAY_ENV, group
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["serve"] == 8000 and ports["metrics"] == 8080, group
        if group == "head":
            continue  # KubeRay's own raylet/GCS probes: an app failure must not kill the head
        for probe, settings in probes.items():
            if not settings["enabled"]:
                assert f"{probe}Probe" not in container  # KubeRay's default applies
                continue
            rendered = container[f"{probe}Probe"]
            assert rendered["httpGet"] == {"path": "/health", "port": "serve"}, probe
            assert rendered["failureThreshold"] == settings["failureThreshold"], probe
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["dshm"] == "/dev/shm"
        assert env["HF_HOME"].startswith(mounts["model-cache"])


def test_optional_objects_follow_their_switches() -> None:
    kinds = {d["kind"] for d in manifests({})}
    assert kinds == {"RayService"}
    full = manifests(read_values(_overlay("everything-servicemonitor.yaml")))
    listed = sorted(d["kind"] for d in full)
    assert listed.count("ConfigMap") >= 1
    for kind in ("Ingress", "ServiceMonitor", "PrometheusRule", "Service", "RayService"):
        assert kind in listed
    assert "PodMonitor" not in listed and "PersistentVolumeClaim" not in listed  # existingClaim
    pod = manifests(read_values(_overlay("two-kinds-podmonitor-hostpath.yaml")))
    assert "PodMonitor" in {d["kind"] for d in pod}
    assert "ServiceMonitor" not in {d["kind"] for d in pod}


def test_service_monitor_selects_the_metrics_service_and_its_ports() -> None:
    docs = manifests(read_values(_overlay("everything-servicemonitor.yaml")))
    monitor, service = one(docs, "ServiceMonitor"), one(docs, "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    ports = {p["name"] for p in service["spec"]["ports"]}
    # Only the metrics agents: the API port serves no /metrics.
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == ports == {"metrics"}
    pod_labels = _containers_labels(docs)
    assert all(service["spec"]["selector"].items() <= labels.items() for labels in pod_labels)
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_ingress_routes_to_the_kuberay_serve_service() -> None:
    docs = manifests(read_values(_overlay("everything-servicemonitor.yaml")))
    ingress, rs = one(docs, "Ingress"), one(docs, "RayService")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == rs["spec"]["serveService"]["metadata"]["name"]
    assert backend["port"] == {"name": "serve"}
    assert ingress["spec"]["tls"][0]["hosts"] == ["gemma.example.com"]


def test_secrets_become_worker_env() -> None:
    docs = manifests(read_values(_overlay("everything-servicemonitor.yaml")))
    (worker,) = [c for g, _, c in _containers(docs) if g != "head"]
    env = {e["name"]: e for e in worker["env"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}
    assert env["OPENAI_KEYS"]["valueFrom"]["secretKeyRef"]["name"] == "gemma-api-keys"
    assert env["VLLM_LOGGING_LEVEL"]["value"] == "INFO"
    # drain_timeout_s 120 -> the pod may take that long (plus margin) to stop
    pods = [p for g, p, _ in _containers(docs) if g != "head"]
    assert pods[0]["terminationGracePeriodSeconds"] == 150


def test_dashboards_and_rules_come_from_the_chart_files_unchanged() -> None:
    """Every dashboard file is one ConfigMap, and the rules reach the PrometheusRule intact."""
    import json

    import yaml

    from tests.helm.chart import CHART

    docs = manifests(read_values(_overlay("everything-servicemonitor.yaml")))
    files = {p.name: p for p in (CHART / "files" / "dashboards").glob("*.json")}
    maps = [d for d in docs if d["kind"] == "ConfigMap"]
    assert len(maps) == len(files)
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"]["grafana_folder"] == "gemma-serve"
        ((name, text),) = cm["data"].items()
        assert json.loads(text) == json.loads(files[name].read_text())
    rules = yaml.safe_load((CHART / "files" / "alerts" / "rules.yaml").read_text())
    assert one(docs, "PrometheusRule")["spec"]["groups"] == rules["groups"]


def _overlay(name: str) -> Path:
    (path,) = [p for p in OVERLAYS if p.name == name]
    return path


def _containers_labels(docs: list[dict[str, Any]]) -> list[dict[str, str]]:
    cluster = one(docs, "RayService")["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [g["template"]["metadata"]["labels"] for g in groups]


def test_packaged_chart_renders_the_same(tmp_path: Path) -> None:
    """What `helm package` / an OCI push ships still holds files/, schema and examples."""
    import helm_python as helm

    from tests.helm.chart import CHART, NAMESPACE, RELEASE

    archive = helm.package(CHART, destination=tmp_path)
    values = read_values(_overlay("everything-servicemonitor.yaml"))
    with helm.Chart.load(archive) as packaged:
        assert packaged.schema is not None
        names = {f["name"] for f in packaged.files}
        assert {"files/alerts/rules.yaml", "README.md"} <= names
        assert any(n.startswith("examples/") for n in names)
        rendered = packaged.render(values=values, name=RELEASE, namespace=NAMESPACE)
    assert rendered == render(values)
