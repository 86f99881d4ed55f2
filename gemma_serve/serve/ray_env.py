"""The environment of every Ray process gemma-serve runs in: the one list of it.

`gemma-serve serve` exports it before starting Ray; the Helm chart's pods and the
Docker image get it from files generated from this module (`make regen`).
"""

from __future__ import annotations

#: Set wherever Ray runs gemma-serve (locally, in every pod, in the image).
RAY_ENV: dict[str, str] = {
    # Ray Serve's fast path: HAProxy on the API port forwarding straight to replica servers.
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    # Throughput mode alone would buffer replica logs (vLLM's warnings too) into a file,
    # 1000 at a time: operators see them on the console / in pod logs, as they happen.
    "RAY_SERVE_LOG_TO_STDERR": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "1",
    # Ray starts workers at niceness 15; the engine must not lose the CPU to a load generator.
    "RAY_worker_niceness": "0",
    # Every CPU cycle Ray's control plane spends is taken from the engine's threads:
    # no 10 Hz control loop, no prestarted idle workers, no task-event stream.
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "0.5",
    "RAY_enable_worker_prestart": "0",
    "RAY_prestart_worker_first_driver": "0",
    "RAY_task_events_report_interval_ms": "0",
    "RAY_event_stats": "0",
    # Each node's metrics agent exports every replica's vLLM and gemma-serve series
    # (Ray's metrics API, tagged ReplicaId): the one scrape target per node. Ray's
    # default (on) and its 10 s report interval, stated here so nothing turns it off.
    "RAY_enable_metrics_collection": "1",
}

#: Set only by the local `gemma-serve serve`, where Ray's own HAProxy is the only load
#: balancer and learns of a leaving replica at once (behind an external one, keep 30 s).
LOCAL_RAY_ENV: dict[str, str] = {
    **RAY_ENV,
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "1",
}
