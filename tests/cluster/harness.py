"""A real multi-node Ray cluster on this host, started the way KubeRay starts the chart's pods.

The chart is rendered with a values file; `kuberay.pods` turns the RayService
into one `ray start` command and env per pod, exactly as KubeRay would; this
module runs each pod as a process group and deploys the rendered
`serveConfigV2` with the request KubeRay sends (`PUT /api/serve/applications/`
on the head's dashboard, token in `x-ray-authorization`).

What one host cannot share like pods can is translated, and only that
(`host_translation`): every fixed port (GCS, dashboard, client, agent, metrics,
the API, Serve's HAProxy side ports and fallback proxy) becomes a free one
(`benchmarks.ports`: outside Ray's worker range and the kernel's ephemeral one);
each node gets its own `--temp-dir` (which also
tells the nodes apart: in Kubernetes each pod has its own IP, here they share
one) and its own empty HOME; the dashboard listens on 127.0.0.1; worker proxies
get their own HTTP port (Ray Serve's `RAY_SERVE_WORKER_PROXY_HTTP_PORT`); Ray's
memory monitor is off (it would watch the shared host, not a pod's cgroup);
volumes become host directories (`model-cache` holds this host's prepared
checkpoints). Processes start from an empty environment plus the pod's, with
PYTHONPATH at this checkout (the image's site-packages).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import psutil
import yaml

from benchmarks.ports import free_port
from tests.cluster import kuberay
from tests.helm.chart import manifests, one, read_values

REPO = Path(__file__).resolve().parents[2]
VALUES = Path(__file__).with_name("values-cpu.yaml")
_DEPLOY_TIMEOUT_S = 900  # two engines starting on two shared cores
_JOIN_TIMEOUT_S = 60
_POD_RESTARTS = 2


class ClusterError(Exception):
    """The cluster did not come up; the message carries the logs that say why."""


class ProcessWatch:
    """Every process ever seen below the cluster's `ray start` processes, to stop them all.

    Ray starts its workers (Serve's controller, proxies, replicas) in process
    groups of their own, and its processes rewrite their environment with their
    title, so neither a process group nor an environment marker finds them all;
    the process tree, sampled while the cluster runs, does. Entries are
    (pid, start time), so a reused pid is never taken for one of ours.
    """

    def __init__(self, period_s: float = 1.0) -> None:
        self._roots: list[int] = []
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(period_s,), daemon=True)
        self._thread.start()

    def add(self, pid: int) -> None:
        with self._lock:
            self._roots.append(pid)
        self.sample()

    def sample(self) -> None:
        with self._lock:
            roots = list(self._roots)
        for root in roots:
            with contextlib.suppress(psutil.Error):
                top = psutil.Process(root)
                for proc in [top, *top.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        self._seen.setdefault(proc.pid, proc.create_time())

    def alive(self) -> list[psutil.Process]:
        """The processes seen so far that still run (zombies excepted)."""
        out = []
        for pid, started in list(self._seen.items()):
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE:
                    out.append(proc)
        return out

    def kill(self) -> None:
        for proc in self.alive():
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)

    def _loop(self, period_s: float) -> None:
        while not self._done.wait(period_s):
            self.sample()


@dataclass
class Node:
    """One pod's `ray start --block` process, the leader of its own process group."""

    pod: kuberay.Pod
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    #: A pod of the rendered cluster (its exit is a failure), not one a test added.
    required: bool = True
    #: Host ports standing in for the pod's fixed ones (metrics: Prometheus' target).
    ports: dict[str, int] = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Cluster:
    """A running cluster: where to reach it, its token, its nodes."""

    api_url: str
    dashboard_url: str
    token: str | None
    rayservice: dict[str, Any]
    serve_config: dict[str, Any]
    workdir: Path
    nodes: list[Node] = field(default_factory=list)
    #: Host-side directories standing in for the pods' volumes.
    volumes: dict[str, Path] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    gcs_address: str = ""
    watch: ProcessWatch = field(default_factory=ProcessWatch)
    #: Pods started again after their `ray start` exited before joining (pod -> times).
    restarts: dict[str, int] = field(default_factory=dict)
    #: Seconds from the start of `running_cluster` to each step (head up, joined, ...).
    timeline: dict[str, float] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """What KubeRay sends to the dashboard (Ray also accepts `Authorization`)."""
        return {"x-ray-authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def head(self) -> Node:
        return self.nodes[0]

    @property
    def pids(self) -> dict[str, int]:
        return {n.pod.name: n.process.pid for n in self.nodes}

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.api_url + "/v1", api_key="unused", max_retries=0)

    def dashboard(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.headers)
        kwargs.setdefault("timeout", 30)
        return httpx.get(self.dashboard_url + path, **kwargs)

    def applications(self) -> dict[str, Any]:
        """Serve's view (`GET /api/serve/applications/`): apps, deployments, replicas."""
        response = self.dashboard("/api/serve/applications/")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def ray_nodes(self) -> list[dict[str, Any]]:
        """The cluster's nodes (state API), each with `pod`: the pod it runs in.

        Ray names a node by its IP, which every node here shares; its raylet's
        socket lies in its pod's own temp dir, which the dashboard reports.
        """
        response = self.dashboard("/api/v0/nodes", params={"limit": 100})
        response.raise_for_status()
        nodes: list[dict[str, Any]] = response.json()["data"]["result"]["result"]
        summary = self.dashboard("/nodes", params={"view": "summary"})
        summary.raise_for_status()
        pods = {}
        for entry in summary.json()["data"]["summary"]:
            raylet = entry.get("raylet") or {}
            socket_path = Path(raylet.get("rayletSocketName", "/"))
            if socket_path.is_relative_to(self.workdir):
                pods[raylet["nodeId"]] = socket_path.relative_to(self.workdir).parts[0]
        return [{**n, "pod": pods.get(n["node_id"])} for n in nodes]

    def start_pod(
        self,
        pod: kuberay.Pod,
        *,
        name: str,
        env_changes: dict[str, str | None] | None = None,
        required: bool = False,
    ) -> Node:
        """Start one more pod like `pod`, named `name`, its env changed (None removes a
        variable); tracked for cleanup. A required pod (KubeRay's replacement for a lost
        one) is awaited until it joins and started again if it exits first, as a failed
        pod is; any other may exit."""
        node = _start(self, dataclasses.replace(pod, name=name), env_changes or {})
        node.required = required
        self.nodes.append(node)
        if required:
            wait_for_nodes(self, {name})
        return node

    def stop(self, keep_logs: Path | None = None, grace_s: float = 15) -> None:
        """Stop every node (all at once, as deleting the RayCluster does), keep the logs if
        asked, remove the host-side state; raise if a process of the cluster survives."""
        self.watch.sample()
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)  # `ray start` stops its node
        deadline = time.monotonic() + grace_s
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(max(0.1, deadline - time.monotonic()))
        for node in self.nodes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(node.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 15  # SIGKILLed engines take a moment to go
        while (left := self.watch.alive()) and time.monotonic() < deadline:
            self.watch.kill()
            time.sleep(0.5)
        self.watch.close()
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(5)
        if keep_logs is not None:
            _copy_logs(self.workdir, keep_logs)
        shutil.rmtree(self.workdir, ignore_errors=True)
        if left:
            raise ClusterError(f"processes left after stop: {[(p.pid, p.name()) for p in left]}")


def render(values: Path = VALUES, *, api_port: int) -> dict[str, Any]:
    """The chart's RayService for `values`, the API moved to `api_port` (a host port)."""
    given = read_values(values)
    given.setdefault("gemmaServe", {}).setdefault("server", {})["port"] = api_port
    return one(manifests(given), "RayService")


def host_translation(
    pod: kuberay.Pod, cluster: Cluster, ports: dict[str, int]
) -> tuple[list[str], dict[str, str]]:
    """The pod's `ray start` argv and env, moved onto this host (see the module docstring)."""
    params = dict(pod.params)
    params["temp-dir"] = str(cluster.workdir / pod.name)
    params["disable-usage-stats"] = "true"
    params["dashboard-agent-listen-port"] = str(ports["agent"])
    params["metrics-export-port"] = str(ports["metrics"])
    if pod.head:
        params["port"] = cluster.gcs_address.rsplit(":", 1)[1]
        params["dashboard-port"] = cluster.dashboard_url.rsplit(":", 1)[1]
        params["dashboard-host"] = "127.0.0.1"
        params["ray-client-server-port"] = str(ports["client"])
    else:
        params["address"] = cluster.gcs_address
    argv = kuberay.ray_start_argv(params, head=pod.head)
    argv[0] = str(Path(sys.executable).with_name("ray"))
    env = kuberay.resolve_env(pod.env, cluster.secrets)
    for name, value in list(env.items()):
        for volume, mount in pod.mounts.items():
            if volume in cluster.volumes and (value == mount or value.startswith(mount + "/")):
                env[name] = str(cluster.volumes[volume]) + value[len(mount) :]
    env.update(
        RAY_ADDRESS=cluster.gcs_address,
        RAY_PORT=cluster.gcs_address.rsplit(":", 1)[1],
        # Serve's HAProxy side ports and the head's fallback proxy (fixed 9101, 8404,
        # 8500, 9500 by default): one set per node here, as each pod has its own.
        RAY_SERVE_HAPROXY_METRICS_PORT=str(ports["haproxy_metrics"]),
        RAY_SERVE_HAPROXY_STATS_PORT=str(ports["haproxy_stats"]),
        RAY_SERVE_FALLBACK_PROXY_HTTP_PORT=str(ports["fallback_http"]),
        RAY_SERVE_FALLBACK_PROXY_GRPC_PORT=str(ports["fallback_grpc"]),
        # A pod's raylet watches its own cgroup's memory; here every raylet would watch
        # the whole shared host and, when other processes fill it, kill this cluster's
        # Serve controller (seen: "Memory on the node ... 0.958732 ... Ray killed 2 workers").
        RAY_memory_monitor_refresh_ms="0",
    )
    if not pod.head:
        env.update(FQ_RAY_IP="127.0.0.1", RAY_IP="127.0.0.1")
        env["RAY_SERVE_WORKER_PROXY_HTTP_PORT"] = str(ports["http"])
    home = cluster.workdir / "homes" / pod.name  # a container's own, empty HOME
    home.mkdir(parents=True, exist_ok=True)
    base = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
    }
    return argv, {**base, **env}


def _start(cluster: Cluster, pod: kuberay.Pod, env_changes: dict[str, str | None]) -> Node:
    names = (
        "agent", "metrics", "client", "http",
        "haproxy_metrics", "haproxy_stats", "fallback_http", "fallback_grpc",
    )  # fmt: skip
    ports = {name: free_port() for name in names}
    argv, env = host_translation(pod, cluster, ports)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    log = cluster.workdir / "logs" / f"{pod.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=cluster.workdir, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    cluster.watch.add(process.pid)
    return Node(pod, argv, env, process, log, ports=ports)


@contextlib.contextmanager
def running_cluster(
    values: Path = VALUES,
    *,
    secrets: dict[str, dict[str, str]] | None = None,
    keep_logs: Path | None = None,
) -> Iterator[Cluster]:
    """Render, start head and workers, deploy, wait for RUNNING; always clean up.

    `secrets` are the namespace's Secrets (name -> key -> value); the Ray token
    Secret is created like KubeRay does when the values name none.
    """
    t0 = time.monotonic()
    api_port = free_port()
    rs = render(values, api_port=api_port)
    # KubeRay names the RayCluster <rayservice>-<suffix>; its generated token Secret too.
    cluster_name = f"{rs['metadata']['name']}-{os.urandom(3).hex()[:5]}"
    secrets = dict(secrets or {})
    secret = kuberay.token_secret_name(rs, cluster_name)
    if secret is not None:
        secrets.setdefault(secret, {kuberay.TOKEN_KEY: kuberay.generate_token()})
    workdir = Path(tempfile.mkdtemp(prefix="gsc-", dir="/tmp"))  # short: Ray's socket paths
    serve_config = yaml.safe_load(rs["spec"]["serveConfigV2"])
    cluster = Cluster(
        api_url=f"http://127.0.0.1:{api_port}",
        dashboard_url=f"http://127.0.0.1:{free_port()}",
        token=secrets[secret][kuberay.TOKEN_KEY] if secret else None,
        rayservice=rs,
        serve_config=serve_config,
        workdir=workdir,
        secrets=secrets,
        gcs_address=f"127.0.0.1:{free_port()}",
    )
    try:
        cluster.volumes = _volumes(workdir)
        pods = kuberay.pods(rs, cluster_name=cluster_name)
        _start_head(cluster, pods[0])
        cluster.timeline["head dashboard up"] = time.monotonic() - t0
        for pod in pods[1:]:
            cluster.nodes.append(_start(cluster, pod, {}))
        wait_for_nodes(cluster, {p.name for p in pods})
        cluster.timeline["workers joined"] = time.monotonic() - t0
        deploy(cluster, serve_config)
        cluster.timeline["serve config accepted"] = time.monotonic() - t0
        wait_for_running(cluster)
        cluster.timeline["RUNNING, API answers"] = time.monotonic() - t0
        yield cluster
    finally:
        cluster.stop(keep_logs)


def _volumes(workdir: Path) -> dict[str, Path]:
    """Host directories for the pods' volumes.

    `model-cache` holds this host's prepared checkpoints (the embedded 270M), as a
    PVC that already has them would; `dshm` is the host's /dev/shm.
    """
    from gemma_serve.models.prepare import cache_root

    cache = workdir / "volumes" / "model-cache"
    (cache / "huggingface").mkdir(parents=True)
    (cache / "gemma-serve").symlink_to(cache_root())
    return {"model-cache": cache, "dshm": Path("/dev/shm")}


def _start_head(cluster: Cluster, pod: kuberay.Pod) -> None:
    """Start the head and wait for its dashboard.

    Ray gives a node 30 s to register (fixed in Ray 2.60); on a loaded host the
    head can miss that and exit. It is then started again on fresh ports, as the
    kubelet restarts a failed head container, after what it left is stopped.
    """
    for attempt in range(_POD_RESTARTS + 1):
        cluster.nodes = [_start(cluster, pod, {})]
        deadline = time.monotonic() + _JOIN_TIMEOUT_S
        while time.monotonic() < deadline and cluster.head.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if cluster.dashboard("/api/version", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        if cluster.head.process.poll() is None:
            raise ClusterError(f"head dashboard not up:\n{cluster.head.log_tail()}")
        if attempt == _POD_RESTARTS:
            break
        cluster.watch.kill()  # only the head runs yet: what its failed start left
        cluster.restarts["head"] = attempt + 1
        cluster.gcs_address = f"127.0.0.1:{free_port()}"
        cluster.dashboard_url = f"http://127.0.0.1:{free_port()}"
    _check_alive(cluster)


def wait_for_nodes(cluster: Cluster, names: set[str], timeout_s: float = _JOIN_TIMEOUT_S) -> None:
    """Until every pod in `names` is an ALIVE Ray node.

    A worker whose `ray start` exits before joining (on a loaded host its raylet
    can miss the registration timeout) is started again, as KubeRay replaces a
    failed worker pod; the head's exit is fatal.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for i, node in enumerate(cluster.nodes):
            if node.required and not node.pod.head and node.process.poll() is not None:
                restarts = cluster.restarts.get(node.pod.name, 0)
                if restarts >= _POD_RESTARTS:
                    break
                cluster.restarts[node.pod.name] = restarts + 1
                cluster.nodes[i] = _start(cluster, node.pod, {})
                deadline = max(deadline, time.monotonic() + timeout_s)
        _check_alive(cluster)
        with contextlib.suppress(httpx.HTTPError, KeyError):
            alive = {n["pod"] for n in cluster.ray_nodes() if n["state"] == "ALIVE"}
            if names <= alive:
                return
        time.sleep(1)
    raise ClusterError(f"nodes {sorted(names)} did not all join:\n{_tails(cluster)}")


def deploy(cluster: Cluster, serve_config: dict[str, Any]) -> httpx.Response:
    """KubeRay's `UpdateDeployments`: the serve config as JSON, PUT to the dashboard."""
    response = httpx.put(
        cluster.dashboard_url + "/api/serve/applications/",
        content=json.dumps(serve_config),
        headers={"Content-Type": "application/json", **cluster.headers},
        timeout=60,
    )
    if response.status_code != 200:
        raise ClusterError(f"deploy refused: {response.status_code} {response.text}")
    return response


def wait_for_running(cluster: Cluster, timeout_s: float = _DEPLOY_TIMEOUT_S) -> None:
    """Until every application is RUNNING and the head's HTTP port answers."""
    deadline = time.monotonic() + timeout_s
    status: Any = None
    while time.monotonic() < deadline:
        _check_alive(cluster)
        with contextlib.suppress(httpx.HTTPError):
            apps = cluster.applications().get("applications") or {}
            status = {name: (a["status"], a.get("message", "")) for name, a in apps.items()}
            if apps and all(s == "DEPLOY_FAILED" for s, _ in status.values()):
                raise ClusterError(f"deploy failed: {status}\n{_tails(cluster)}")
            if apps and all(s == "RUNNING" for s, _ in status.values()):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(cluster.api_url + "/v1/models", timeout=5).status_code == 200:
                        return
        time.sleep(2)
    raise ClusterError(f"not RUNNING after {timeout_s}s: {status}\n{_tails(cluster)}")


def _check_alive(cluster: Cluster) -> None:
    for node in cluster.nodes:
        if node.required and node.process.poll() is not None:
            raise ClusterError(
                f"{node.pod.name}: `ray start` exited with {node.process.returncode}:\n"
                f"{node.log_tail()}"
            )


def _copy_logs(workdir: Path, dest: Path) -> None:
    """The `ray start` outputs and every node's Ray logs (not sockets or runtime files)."""
    dest.mkdir(parents=True, exist_ok=True)
    if (workdir / "logs").is_dir():
        shutil.copytree(workdir / "logs", dest / "ray-start", dirs_exist_ok=True)
    for logs in workdir.glob("*/session_latest/logs"):
        node = logs.parents[1].name
        shutil.copytree(logs, dest / node, dirs_exist_ok=True, ignore_dangling_symlinks=True)


def _tails(cluster: Cluster) -> str:
    """The node logs and Serve's controller and replica logs, last lines of each."""
    parts = [f"--- {n.pod.name}.log\n{n.log_tail(15)}" for n in cluster.nodes]
    for path in sorted(cluster.workdir.glob("*/session_latest/logs/serve/*.log")):
        text = path.read_text(errors="replace").splitlines()[-15:]
        parts.append(f"--- {path.relative_to(cluster.workdir)}\n" + "\n".join(text))
    return "\n".join(parts)
