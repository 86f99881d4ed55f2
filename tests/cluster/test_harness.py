"""The harness does what KubeRay does with the rendered chart, and cleans up after itself.

The translation (`kuberay.pods`) is checked without Ray; the clean-up on a
failed start runs a real head node (no engine) and checks nothing of it stays.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster import harness, kuberay
from tests.helm.chart import CLUSTER_VALUES


def _pods(values: Path = CLUSTER_VALUES) -> dict[str, kuberay.Pod]:
    rs = harness.render(values, api_port=8000)
    return {p.name: p for p in kuberay.pods(rs, cluster_name="gemma-gemma-serve-abcde")}


def _env(pod: kuberay.Pod) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod.env}


def test_pods_are_the_rendered_head_and_worker_replicas() -> None:
    pods = _pods()
    assert list(pods) == ["head", "cpu-0", "cpu-1"]
    assert pods["head"].head and not pods["cpu-0"].head
    assert pods["cpu-0"].group == pods["cpu-1"].group == "cpu"


def test_ray_start_params_follow_kuberays_rules() -> None:
    pods = _pods()
    head, worker = pods["head"], pods["cpu-0"]
    # the chart's own params, KubeRay's defaults, and --block
    assert head.params["num-cpus"] == "0"
    assert head.params["dashboard-host"] == "0.0.0.0"
    assert head.params["memory"] == str(2 * 2**30)  # from the container's memory limit
    assert worker.params == {
        "num-cpus": "1",
        "memory": str(4 * 2**30),
        "metrics-export-port": "8080",
        "dashboard-agent-listen-port": "52365",
        "address": "gemma-gemma-serve-abcde-head-svc.default.svc.cluster.local:6379",
        "block": "true",
    }
    argv = worker.argv()
    assert argv[:2] == ["ray", "start"] and "--head" not in argv
    assert "--block" in argv and "--num-cpus=1" in argv  # true flags are bare
    assert argv[2:] == sorted(argv[2:])  # KubeRay sorts the flags
    assert head.argv()[:3] == ["ray", "start", "--head"]


def test_num_cpus_comes_from_the_limits_when_the_chart_sets_none() -> None:
    group = {
        "groupName": "g",
        "replicas": 1,
        "rayStartParams": {},
        "resources": {"accelerator_type:L4": "1"},
        "template": {
            "spec": {
                "containers": [
                    {"resources": {"limits": {"cpu": "6", "memory": "24Gi", "nvidia.com/gpu": "1"}}}
                ]
            }
        },
    }
    rs = {
        "spec": {
            "rayClusterConfig": {
                "headGroupSpec": {**group, "rayStartParams": {"num-cpus": "0"}},
                "workerGroupSpecs": [group],
            }
        }
    }
    (_, worker) = kuberay.pods(rs, cluster_name="c")
    assert worker.params["num-cpus"] == "6" and worker.params["num-gpus"] == "1"
    assert worker.params["memory"] == str(24 * 2**30)
    assert worker.params["resources"] == """'{"accelerator_type:L4":1.0}'"""
    assert "RAY_AUTH_MODE" not in _env(worker)  # no authOptions: KubeRay leaves auth off


def test_every_pod_gets_the_token_from_kuberays_secret() -> None:
    for pod in _pods().values():
        env = _env(pod)
        assert env["RAY_AUTH_MODE"] == "token"
        ref = {"secretKeyRef": {"name": "gemma-gemma-serve-abcde", "key": "auth_token"}}
        assert env["RAY_AUTH_TOKEN"] == ref, pod.name
        assert env["RAY_SERVE_ENABLE_HA_PROXY"] == "1"  # the chart's own env is kept


def test_a_named_secret_replaces_kuberays(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    text = CLUSTER_VALUES.read_text()
    values.write_text(text.replace("ray:\n", "ray:\n  auth: {secretName: mine}\n", 1))
    for pod in _pods(values).values():
        assert _env(pod)["RAY_AUTH_TOKEN"] == {
            "secretKeyRef": {"name": "mine", "key": "auth_token"}
        }


def test_a_missing_secret_fails_like_the_kubelet() -> None:
    pod = _pods()["cpu-0"]
    with pytest.raises(kuberay.PodError, match="CreateContainerConfigError"):
        kuberay.resolve_env(pod.env, {})
    env = kuberay.resolve_env(pod.env, {"gemma-gemma-serve-abcde": {"auth_token": "t"}})
    assert env["RAY_AUTH_TOKEN"] == "t" and env["GEMMA_SERVE_CACHE"] == "/cache/gemma-serve"


@pytest.mark.e2e
def test_a_start_that_fails_leaves_no_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' Secret is missing: the head is up, then start-up fails; nothing stays."""
    values = tmp_path / "values.yaml"
    values.write_text(
        CLUSTER_VALUES.read_text() + "huggingface:\n  tokenSecret: {name: hf-missing}\n"
    )
    seen: list[harness.Cluster] = []
    real_start = harness._start

    def start(
        cluster: harness.Cluster, pod: kuberay.Pod, changes: dict[str, str | None]
    ) -> harness.Node:
        seen.append(cluster)
        return real_start(cluster, pod, changes)

    monkeypatch.setattr(harness, "_start", start)
    with pytest.raises(kuberay.PodError, match="hf-missing"):
        with harness.running_cluster(values):
            pytest.fail("the cluster must not come up")
    cluster = seen[0]
    assert [n.pod.name for n in cluster.nodes] == ["head"]  # the head did start
    assert all(n.process.poll() is not None for n in cluster.nodes)
    assert cluster.watch.alive() == []
    assert not cluster.workdir.exists()
