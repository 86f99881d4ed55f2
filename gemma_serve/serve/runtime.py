"""Run a deployment on a local Ray cluster until Ctrl-C or SIGTERM, then leave nothing behind."""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from gemma_serve.config.models import ClusterConfig, DeploymentConfig, ServerConfig
from gemma_serve.errors import DeployFailed, PlanError, PortInUse
from gemma_serve.planner import DeploymentPlan, plan_deployment
from gemma_serve.serve import haproxy
from gemma_serve.serve.cluster import joined
from gemma_serve.serve.cores import usable_cores
from gemma_serve.serve.ray_env import LOCAL_RAY_ENV

Say = Callable[[str], None]


def check_local_fit(plan: DeploymentPlan, cluster: ClusterConfig) -> int:
    """Logical CPUs for a locally started Ray; a PlanError if the replicas cannot all run.

    Each CPU replica reserves the cores its engine binds, so their sum at the
    largest replica counts must fit this machine, or the last replicas would wait
    for cores forever.
    """
    cpus = cluster.num_cpus or len(usable_cores())
    need = sum(m.cpu.cores * m.max_replicas for m in plan.models if m.cpu is not None)
    if need > cpus:
        parts = ", ".join(
            f"{m.name} {m.max_replicas}x{m.cpu.cores}" for m in plan.models if m.cpu is not None
        )
        raise PlanError(
            f"the CPU replicas bind {need} cores ({parts}) but this machine has {cpus}; "
            "lower hardware.cpu_cores or autoscaling.max_replicas"
        )
    return cpus


def check_local_start(plan: DeploymentPlan, cluster: ClusterConfig) -> int:
    """Everything a locally started stack needs, checked before Ray starts: CPUs for ours."""
    cpus = check_local_fit(plan, cluster)
    check_ports_free(plan.server)
    haproxy.check_template()
    return cpus


def _ports(server: ServerConfig) -> list[tuple[int, str]]:
    """The ports the local stack binds on `server.host`, with the setting that moves each."""
    return [
        (server.port, "server.port (--port)"),
        (server.haproxy_metrics_port, "server.haproxy_metrics_port (HAProxy's metrics)"),
    ]


def check_ports_free(server: ServerConfig) -> None:
    """A PortInUse naming the port and its setting if anything holds one of ours on the host."""
    for port, setting in _ports(server):
        family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As HAProxy binds: a port left in TIME_WAIT is free, a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((server.host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise PortInUse(
                        f"cannot bind {server.host}:{port} ({exc.strerror}); set server.host"
                    ) from None
                raise PortInUse(
                    f"port {port} on {server.host} is already in use; set {setting} to a free one"
                ) from None


def serve_forever(plan: DeploymentPlan, cluster: ClusterConfig, *, say: Say = print) -> int:
    """Start a local Ray and the application, block until a signal, leave nothing behind."""
    num_cpus = check_local_start(plan, cluster)
    env = {**LOCAL_RAY_ENV, **haproxy.haproxy_env(plan.server)}
    os.environ.update(env)
    metrics_url = _local_metrics_target(plan.server.host, plan.server.metrics_port)
    import psutil
    import ray
    from ray import serve

    try:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=True,
            # The hook keeps HAProxy's own listeners on server.host (see serve/haproxy.py).
            runtime_env={"env_vars": env, "worker_process_setup_hook": haproxy.HOOK},
            # The node's metrics agent: every replica's vLLM and gemma-serve series.
            _metrics_export_port=plan.server.metrics_port,
        )
        say(f"ray: {ray.get_runtime_context().gcs_address} (gemma-serve status --address ...)")
        return _run_until_signal(plan, say=say, metrics_url=metrics_url)
    finally:
        survivors = psutil.Process().children(recursive=True)
        try:
            if ray.is_initialized():
                serve.shutdown()
        finally:
            ray.shutdown()
            _reap(survivors)


def serve_on_cluster(config: DeploymentConfig, *, say: Say = print) -> int:
    """Join the Ray cluster at `cluster.address`, deploy there, remove the app on a signal.

    The plan is made for the cluster's nodes once connected. Serve and the
    cluster itself are left running: they may serve other applications.
    """
    from gemma_serve.serve.app import cluster_facts

    with joined(config.cluster.address or "auto"):
        return _run_until_signal(plan_deployment(config, cluster_facts()), say=say)


def _run_until_signal(plan: DeploymentPlan, *, say: Say, metrics_url: str | None = None) -> int:
    """Deploy the application, report ready, wait for SIGINT/SIGTERM, delete the application.

    `metrics_url` is set for a local stack, whose Ray node this process started.
    """
    from ray import serve

    from gemma_serve.serve import APP_NAME
    from gemma_serve.serve.app import application

    stop = threading.Event()
    started = time.monotonic()
    previous: dict[signal.Signals, Any] = {}
    try:
        serve.start(http_options={"host": plan.server.host, "port": plan.server.port})
        # After ray.init, which installs handlers of its own.
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
        say(f"starting {', '.join(m.name for m in plan.models)} (engine start takes a minute)")
        serve.run(application(plan), name=APP_NAME, route_prefix="/", blocking=False)
        while not stop.is_set() and not _app_running(APP_NAME):
            stop.wait(0.5)
        if not stop.is_set():
            url = f"http://{plan.server.host}:{plan.server.port}/v1"
            if metrics_url:
                _yield_control_plane()
            metrics = f" (metrics: {metrics_url})" if metrics_url else ""
            say(f"ready in {time.monotonic() - started:.0f}s: {url}{metrics}")
            stop.wait()
        say("stopping: draining requests and shutting down engines")
        return 0
    finally:
        # Replicas drain in-flight requests (up to server.drain_timeout_s) while
        # HAProxy still carries their streams.
        serve.delete(APP_NAME)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _local_metrics_target(host: str, port: int) -> str:
    """The one scrape target of a local Ray node, checked free before Ray starts.

    Ray's metrics agent binds loopback only when the node's address is
    loopback: for a loopback API, the local Ray runs as a single-host node
    (Ray's switch for that is named after Windows and macOS, where it is the
    default). Otherwise it binds every interface.
    """
    loopback = _is_loopback(host)
    if loopback:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    bind = "127.0.0.1" if loopback else "0.0.0.0"
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the agent's server
        try:
            probe.bind((bind, port))
        except OSError as exc:
            raise PortInUse(
                f"metrics port {port} on {bind} is taken ({exc.strerror}): "
                "set server.metrics_port (e.g. --set server.metrics_port=8081)"
            ) from None
    shown = "127.0.0.1" if loopback or host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}/metrics"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _app_running(name: str) -> bool:
    from ray import serve
    from ray.serve.schema import ApplicationStatus

    status = serve.status().applications.get(name)
    if status is None:
        return False
    if status.status in (ApplicationStatus.DEPLOY_FAILED, ApplicationStatus.UNHEALTHY):
        raise DeployFailed(f"application {name} failed to start: {_first_line(status.message)}")
    return bool(status.status == ApplicationStatus.RUNNING)


def _first_line(message: str) -> str:
    """The line of a Serve failure message that names the cause (its last non-empty one)."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


#: Ray processes off the request path: they run at the lowest priority so that
#: their periodic wake-ups do not preempt the engine's compute threads. The
#: raylet and HAProxy's manager are not among them: what they start (a replaced
#: replica, a reloaded HAProxy) would inherit it.
_CONTROL_PLANE = (
    "gcs_server", "ray::ServeController", "ray::ProxyActor", "ray::DashboardAgent",
    "ray::RuntimeEnvAgent", "log_monitor.py", "dashboard.py", "monitor.py",
)  # fmt: skip


def _yield_control_plane() -> None:
    import psutil

    for p in psutil.Process().children(recursive=True):
        try:
            program = " ".join(p.cmdline()[:3])  # not the flags: the raylet's name them all
            if any(name in program for name in _CONTROL_PLANE):
                p.nice(19)
        except psutil.Error:
            pass
    os.nice(19 - os.nice(0))  # this driver too: it only waits for a signal


def _reap(processes: list) -> None:
    """Terminate any process we started that Ray did not (engine cores, HAProxy)."""
    import psutil

    alive = [p for p in processes if p.is_running()]
    for p in alive:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, still = psutil.wait_procs(alive, timeout=10)
    for p in still:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
