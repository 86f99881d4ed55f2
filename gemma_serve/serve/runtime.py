"""Run a deployment on a local Ray cluster until Ctrl-C or SIGTERM, then leave nothing behind."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from gemma_serve.config.models import ClusterConfig
from gemma_serve.errors import ClusterError, DeployFailed, PlanError
from gemma_serve.planner import DeploymentPlan
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


def serve_forever(plan: DeploymentPlan, cluster: ClusterConfig, *, say: Say = print) -> int:
    """Start Ray and the application, block until a signal, shut down cleanly."""
    num_cpus = check_local_fit(plan, cluster) if not cluster.address else 0
    os.environ.update(LOCAL_RAY_ENV)
    metrics_url = None
    if not cluster.address:
        metrics_url = _local_metrics_target(plan.server.host, plan.server.metrics_port)
    import psutil
    import ray
    from ray import serve

    from gemma_serve.serve.app import APP_NAME, application

    stop = threading.Event()
    started = time.monotonic()
    previous: dict[signal.Signals, Any] = {}
    try:
        _start_ray(cluster, num_cpus, plan.server.metrics_port)
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
            _yield_control_plane()
            metrics = f" (metrics: {metrics_url})" if metrics_url else ""
            say(f"ready in {time.monotonic() - started:.0f}s: {url}{metrics}")
            stop.wait()
        say("stopping: draining requests and shutting down engines")
        return 0
    finally:
        survivors = psutil.Process().children(recursive=True)
        try:
            # Delete the app first: replicas drain in-flight requests (up to
            # server.drain_timeout_s) while HAProxy still carries their streams.
            if ray.is_initialized():
                serve.delete(APP_NAME)
            serve.shutdown()
        finally:
            ray.shutdown()
            _reap(survivors)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _start_ray(cluster: ClusterConfig, num_cpus: int, metrics_port: int) -> None:
    import ray

    if cluster.address:
        ray.init(address=cluster.address, logging_level=logging.WARNING)
        return
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=True,
        runtime_env={"env_vars": dict(LOCAL_RAY_ENV)},
        # The node's metrics agent: every replica's vLLM and gemma-serve series.
        _metrics_export_port=metrics_port,
    )


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
            raise ClusterError(
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
