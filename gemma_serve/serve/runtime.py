"""Run a deployment on a local Ray cluster until Ctrl-C or SIGTERM, then leave nothing behind."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from gemma_serve.config.models import DeploymentConfig
from gemma_serve.planner.launch import LaunchPlan

#: Ray Serve's fast path: HAProxy on the API port forwarding straight to replica servers.
SERVE_ENV = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    # Throughput mode alone would buffer replica logs (vLLM's warnings too) into a file,
    # 1000 at a time: operators see them on the console / in pod logs, as they happen.
    "RAY_SERVE_LOG_TO_STDERR": "1",
    # Keep Ray's own chatter off the 2 cores we serve on.
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "1",
    # Ray starts workers at niceness 15; the engine must not lose the CPU to a load generator.
    "RAY_worker_niceness": "0",
    # Locally HAProxy is Ray's own and learns of a leaving replica at once; no need to
    # keep a draining replica for 30 s as one must behind an external load balancer.
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "1",
    # Every CPU cycle Ray's control plane spends is taken from the engine's threads.
    # A single-node deployment needs no 10 Hz control loop, no prestarted idle
    # workers, no task-event stream and no Ray-internal metrics (ours are on /metrics).
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "0.5",
    "RAY_enable_worker_prestart": "0",
    "RAY_prestart_worker_first_driver": "0",
    "RAY_task_events_report_interval_ms": "0",
    "RAY_enable_metrics_collection": "0",
    "RAY_event_stats": "0",
}

Say = Callable[[str], None]


def serve_forever(config: DeploymentConfig, plan: LaunchPlan, *, say: Say = print) -> int:
    """Start Ray and the application, block until a signal, shut down cleanly."""
    os.environ.update(SERVE_ENV)
    import psutil
    import ray
    from ray import serve

    from gemma_serve.serve.app import APP_NAME, application

    stop = threading.Event()
    started = time.monotonic()
    previous: dict[signal.Signals, Any] = {}
    try:
        _start_ray(config, plan)
        serve.start(
            http_options={"host": config.server.host, "port": config.server.port},
        )
        # After ray.init, which installs handlers of its own.
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
        say(f"starting {', '.join(m.name for m in plan.models)} (engine start takes a minute)")
        serve.run(application(config, plan), name=APP_NAME, route_prefix="/", blocking=False)
        while not stop.is_set() and not _app_running(APP_NAME):
            stop.wait(0.5)
        if not stop.is_set():
            url = f"http://{config.server.host}:{config.server.port}/v1"
            _yield_control_plane()
            say(f"ready in {time.monotonic() - started:.0f}s: {url}")
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


def _start_ray(config: DeploymentConfig, plan: LaunchPlan) -> None:
    import ray

    if config.cluster.address:
        ray.init(address=config.cluster.address, logging_level=logging.WARNING)
        return
    ray.init(
        num_cpus=plan.ray_num_cpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=True,
        runtime_env={"env_vars": dict(SERVE_ENV)},
    )


def _app_running(name: str) -> bool:
    from ray import serve
    from ray.serve.schema import ApplicationStatus

    status = serve.status().applications.get(name)
    if status is None:
        return False
    if status.status in (ApplicationStatus.DEPLOY_FAILED, ApplicationStatus.UNHEALTHY):
        raise RuntimeError(f"application {name} failed to start: {status.message}")
    return bool(status.status == ApplicationStatus.RUNNING)


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
