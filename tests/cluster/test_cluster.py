"""The chart's CPU cluster, run the way KubeRay runs it: serving, placement, Ray's token.

One cluster per session (conftest.py): the rendered head and two CPU worker
pods as `ray start` processes, the rendered serveConfigV2 deployed through the
head dashboard's Serve REST API, the API reached on the head's HTTP port.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
import threading
import time

import httpx
import openai
import psutil
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.cluster.harness import Cluster, deploy, wait_for_nodes
from tests.metrics.test_replica_metrics import check_every_request_counted_once

pytestmark = pytest.mark.e2e
MODEL = "gemma-3-270m"
APP = "gemma-serve"


def test_completions_through_the_head(ray_cluster: Cluster) -> None:
    client = ray_cluster.openai()
    out = client.completions.create(
        model=MODEL, prompt="def add(a, b):", max_tokens=16, temperature=0
    )
    assert out.choices[0].text and out.usage is not None and out.usage.completion_tokens == 16
    chunks = list(
        client.completions.create(
            model=MODEL, prompt="def add(a, b):", max_tokens=16, temperature=0, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    assert "".join(c.choices[0].text for c in chunks if c.choices) == out.choices[0].text
    assert sum(1 for c in chunks if c.choices and c.choices[0].text) > 1  # really streamed
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16


def test_chat_through_the_head(ray_cluster: Cluster) -> None:
    client = ray_cluster.openai()
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Name three rivers."}]
    out = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=12,
        temperature=0,
    )
    assert out.choices[0].message.role == "assistant" and out.choices[0].message.content
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=12, temperature=0, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == out.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_nodes_advertise_the_rendered_pods_cpus(ray_cluster: Cluster) -> None:
    """The head offers no CPU for replicas; each CPU worker pod offers the cores it has."""
    cpus = {n["pod"]: n["resources_total"].get("CPU", 0) for n in ray_cluster.ray_nodes()}
    groups = ray_cluster.rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    (cpu_group,) = [g for g in groups if g["groupName"] == "cpu"]
    (container,) = cpu_group["template"]["spec"]["containers"]
    pod_cores = float(container["resources"]["limits"]["cpu"])
    assert cpus == {"head": 0, "cpu-0": pod_cores, "cpu-1": pod_cores}


def test_two_replicas_run_on_two_different_worker_nodes(ray_cluster: Cluster) -> None:
    app = ray_cluster.applications()["applications"][APP]
    assert app["status"] == "RUNNING"
    (model,) = [d for name, d in app["deployments"].items() if name.startswith("model-")]
    replicas = [r for r in model["replicas"] if r["state"] == "RUNNING"]
    assert len(replicas) == 2, model["replicas"]
    pods = {n["node_id"]: n["pod"] for n in ray_cluster.ray_nodes()}
    placed = sorted(pods[r["node_id"]] for r in replicas)
    assert placed == ["cpu-0", "cpu-1"], placed  # one per worker pod, none on the head


def test_the_dashboard_refuses_requests_without_the_token(ray_cluster: Cluster) -> None:
    url = ray_cluster.dashboard_url + "/api/serve/applications/"
    assert httpx.get(url, timeout=10).status_code == 401
    wrong = {"x-ray-authorization": "Bearer not-the-token"}
    assert httpx.get(url, headers=wrong, timeout=10).status_code == 403
    # A deploy without the token changes nothing (KubeRay's own PUT carries it).
    config = {**ray_cluster.serve_config, "applications": []}
    assert httpx.put(url, json=config, timeout=10).status_code == 401
    assert httpx.put(url, json=config, headers=wrong, timeout=10).status_code == 403
    jobs = httpx.post(
        ray_cluster.dashboard_url + "/api/jobs/", json={"entrypoint": "id"}, timeout=10
    )
    assert jobs.status_code == 401  # job submission: arbitrary code, the reason for the lock
    assert ray_cluster.applications()["applications"][APP]["status"] == "RUNNING"
    assert httpx.get(url, headers={"authorization": f"Bearer {ray_cluster.token}"}).is_success


def test_a_worker_without_the_token_is_refused(ray_cluster: Cluster) -> None:
    """A node started without the token (or with a wrong one) never joins the cluster.

    Each pod has its own empty HOME, so no ~/.ray/auth_token stands in for the token.
    """
    worker = next(n for n in ray_cluster.nodes if n.pod.group == "cpu")
    intruders: dict[str, dict[str, str | None]] = {
        "no-token": {"RAY_AUTH_TOKEN": None, "RAY_AUTH_MODE": None},
        "wrong-token": {"RAY_AUTH_TOKEN": "not-the-token"},
    }
    started = {
        name: ray_cluster.start_pod(worker.pod, name=name, env_changes=changes)
        for name, changes in intruders.items()
    }
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(n.process.poll() is None for n in started.values()):
        joined = {n["pod"] for n in ray_cluster.ray_nodes() if n["state"] == "ALIVE"}
        assert not joined & set(intruders), joined
        time.sleep(1)
    for name, node in started.items():
        assert node.process.returncode not in (None, 0), f"{name} still running or exited 0"
        assert "InvalidAuthToken" in node.log.read_text(errors="replace"), node.log_tail()
    joined = {n["pod"] for n in ray_cluster.ray_nodes()}
    assert not joined & set(intruders)
    wait_for_nodes(ray_cluster, {"head", "cpu-0", "cpu-1"}, timeout_s=5)  # the cluster is intact


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus")
async def test_prometheus_sees_every_replica_on_every_node(ray_cluster: Cluster) -> None:
    """As the chart's PodMonitor: every pod's metrics export port is a target; after N
    requests over two replicas on two nodes, every scrape sums to N, no counter resets."""
    targets = [f"127.0.0.1:{n.ports['metrics']}" for n in ray_cluster.nodes if n.required]
    assert len(targets) == 3  # head and the two CPU workers
    await check_every_request_counted_once(targets, ray_cluster.api_url + "/v1", model=MODEL)


def _actor_pods(cluster: Cluster, class_name: str) -> list[str | None]:
    """The pods on which live actors of `class_name` run (state API)."""
    params = {"limit": 1000, "filter_keys": "class_name", "filter_predicates": "=",
              "filter_values": class_name}  # fmt: skip
    response = cluster.dashboard("/api/v0/actors", params=params)
    response.raise_for_status()
    pods = {n["node_id"]: n["pod"] for n in cluster.ray_nodes()}
    actors = response.json()["data"]["result"]["result"]
    return sorted(pods.get(a["node_id"]) for a in actors if a["state"] == "ALIVE")


def test_the_routers_prefix_tree_runs_beside_the_gateway_on_the_head(ray_cluster: Cluster) -> None:
    """Ray Serve LLM's router would start its tree actor on a worker (it takes a CPU to
    schedule); a worker's loss then stalled routing for minutes (see the node-loss test)."""
    ray_cluster.openai().completions.create(model=MODEL, prompt="Hello", max_tokens=2)
    assert _actor_pods(ray_cluster, "ServeReplica:gemma-serve:gateway") == ["head"]
    assert _actor_pods(ray_cluster, "PrefixTreeActor") == ["head"]


class _Traffic:
    """Back-to-back short completions from two threads; every answer's status recorded."""

    def __init__(self, url: str) -> None:
        self.statuses: list[int | str] = []
        self._url, self._done = url, threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(s,)) for s in (False, True)]
        for t in self._threads:
            t.start()

    def _loop(self, stream: bool) -> None:
        body = {"model": MODEL, "prompt": "The capital of France is", "max_tokens": 8,
                "stream": stream}  # fmt: skip
        while not self._done.is_set():
            try:
                with httpx.stream("POST", self._url + "/v1/completions", json=body,
                                  timeout=60) as r:  # fmt: skip
                    lines = list(r.iter_lines())
                ended = r.status_code != 200 or not stream or "data: [DONE]" in lines
                self.statuses.append(r.status_code if ended else "stream cut")
            except httpx.HTTPError as exc:
                self.statuses.append(type(exc).__name__)
            if self.statuses[-1] != 200:
                time.sleep(0.5)  # a client honouring Retry-After: 1 backs off

    def stop(self) -> list[int | str]:
        self._done.set()
        for t in self._threads:
            t.join(90)
        return self.statuses


def _node_processes(cluster: Cluster, pod: str) -> list[psutil.Process]:
    """Every process of one pod: its `ray start`, what runs in its temp dir, their children."""
    cluster.watch.sample()
    node = next(n for n in cluster.nodes if n.pod.name == pod)
    marker = str(cluster.workdir / pod) + "/"
    found: dict[int, psutil.Process] = {}
    for proc in cluster.watch.alive():
        with contextlib.suppress(psutil.Error):
            if proc.pid == node.process.pid or marker in " ".join(proc.cmdline()):
                for p in [proc, *proc.children(recursive=True)]:
                    found[p.pid] = p
    return list(found.values())


def _stream(url: str, prompt: str, outcomes: list[str]) -> None:
    """One long streamed completion; records how it ended (never waits past 150 s)."""
    body = {"model": MODEL, "prompt": prompt, "max_tokens": 300,
            "ignore_eos": True, "stream": True}  # fmt: skip
    try:
        with httpx.stream("POST", url + "/v1/completions", json=body, timeout=150) as r:
            for line in r.iter_lines():
                if line.startswith("data: [DONE]"):
                    outcomes.append("done")
                    return
        outcomes.append(f"closed ({r.status_code})")
    except httpx.HTTPError as exc:
        outcomes.append(f"error ({type(exc).__name__})")


def _running_replicas(cluster: Cluster) -> list[dict[str, object]]:
    """The model's running replicas (none while a redeployed app is still being built)."""
    app = cluster.applications()["applications"][APP]
    models = [d for name, d in app["deployments"].items() if name.startswith("model-")]
    return [r for m in models for r in m["replicas"] if r["state"] == "RUNNING"]


#: The issue's bound on the time from a node loss to the first new request served.
RECOVERY_S = 60


def _first_success(cluster: Cluster, since: float, within_s: float) -> tuple[float | None, int]:
    """Seconds from `since` to the first completed request, and how many failed before."""
    client, failed = cluster.openai(), 0
    while time.monotonic() - since < within_s:
        try:
            client.completions.create(model=MODEL, prompt="Hello", max_tokens=4, timeout=15)
            return time.monotonic() - since, failed
        except (openai.APIError, httpx.HTTPError):  # counted, then tried again
            failed += 1
            time.sleep(0.5)
    return None, failed


def test_zz_a_lost_node_fails_its_streams_cleanly_and_serve_recovers(
    ray_cluster: Cluster,
) -> None:
    """SIGKILL one worker pod's processes while requests stream (a node loss).

    The surviving replica's streams finish (the gateway, every request's edge, runs
    on the head: on the lost node it took every stream down). New requests are tried
    from the moment of the loss, with the surviving replica still streaming, and one
    succeeds within RECOVERY_S. The lost node is the one the router's prefix tree runs
    on, if a worker holds it: there routing stalled until Ray gave up on the actor
    (over 240 s measured), now it runs on the head beside the gateway.
    """
    assert len(_running_replicas(ray_cluster)) == 2
    tree = [p for p in _actor_pods(ray_cluster, "PrefixTreeActor") if p != "head"]
    outcomes: list[str] = []
    prompts = ["Once upon a time", "The river", "In 1850,", "Dear Sir,", "Step one:", "Rain"]
    streams = [threading.Thread(target=_stream, args=(ray_cluster.api_url, p, outcomes))
               for p in prompts]  # fmt: skip
    for t in streams:
        t.start()
    time.sleep(5)  # every stream under way, on both replicas
    victim = next(n for n in ray_cluster.nodes if n.pod.name == (tree or ["cpu-1"])[0])
    victim.required = False  # its exit is the point
    lost = time.monotonic()
    for proc in _node_processes(ray_cluster, victim.pod.name):
        with contextlib.suppress(psutil.Error):
            proc.kill()
    served_after, failed = _first_success(ray_cluster, lost, within_s=RECOVERY_S)
    for t in streams:
        t.join(max(1.0, 160 - (time.monotonic() - lost)))
    assert not any(t.is_alive() for t in streams), "a stream hung after the node loss"
    assert len(outcomes) == len(prompts), outcomes  # each ended: done, an error, or closed
    assert "done" in outcomes, outcomes  # the surviving replica's streams finished
    assert served_after is not None, f"no request served within {RECOVERY_S} s ({failed} failed)"
    print(f"\nnode loss: streams {sorted(outcomes)}; first success after {served_after:.1f} s "
          f"({failed} failed before)")  # fmt: skip
    # KubeRay's new pod (on a loaded host its first raylet can miss Ray's 30 s registration,
    # seen: "The current node timed out during startup"; then it is started again, as a
    # failed pod is); the next test rolls a changed config onto it.
    ray_cluster.start_pod(victim.pod, name=f"{victim.pod.name}-replaced", required=True)


def test_zz_then_a_changed_config_rolls_onto_the_replaced_pod_without_errors_other_than_503(
    ray_cluster: Cluster,
) -> None:
    """KubeRay's in-place update right after a pod was replaced: a new serveConfigV2
    (another max_model_len) PUT to the dashboard while requests run. Serve replaces
    the gateway and both replicas, the new ones on the two worker pods there are now
    (the survivor and the replacement): Serve recovered the lost node's replica."""
    old = {r["replica_id"] for r in _running_replicas(ray_cluster)}
    config = copy.deepcopy(ray_cluster.serve_config)
    (app,) = config["applications"]
    app["args"]["config"]["models"][0]["max_model_len"] = 1024
    traffic = _Traffic(ray_cluster.api_url)
    started = time.monotonic()
    deploy(ray_cluster, config)
    deadline = started + 900
    while True:
        assert time.monotonic() < deadline, "the new replicas never all ran"
        running = _running_replicas(ray_cluster)
        ids = {r["replica_id"] for r in running}
        if len(ids - old) == 2 and not old & ids:
            break
        time.sleep(2)
    rolled = time.monotonic() - started
    time.sleep(5)  # and requests still succeed once it is over
    statuses = traffic.stop()
    ray_cluster.serve_config = config
    served = ray_cluster.openai().models.list().data
    assert [m.model_dump().get("max_model_len") for m in served] == [1024]
    pods = {n["node_id"]: n["pod"] for n in ray_cluster.ray_nodes()}
    placed = sorted(pods.get(r["node_id"]) for r in running)
    counts = {str(s): statuses.count(s) for s in set(statuses)}
    print(f"\nrolling deploy onto the replaced pod: {rolled:.0f} s; replicas on {placed}; "
          f"answers {counts}")  # fmt: skip
    assert len(set(placed)) == 2 and "head" not in placed, placed
    assert any(str(p).endswith("-replaced") for p in placed), placed
    assert set(statuses) <= {200, 503}, counts
    assert statuses[-4:] == [200] * 4, statuses[-10:]
