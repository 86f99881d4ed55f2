"""Capacity: replicas, saturation, queues, what gets turned away, and LoRA adapter churn."""

from __future__ import annotations

from gemma_serve.metrics import edge as e
from gemma_serve.metrics import names as v
from gemma_serve.metrics.dashboards._build import EDGE, RATE, VLLM, Board, rate

_IN_FLIGHT = f"sum by (model) ({e.IN_FLIGHT.exported}{{{EDGE}}})"
_DEPLOYMENTS = v.deployment_selector("$model")


def serve_by_model(metric: str) -> str:
    """A Ray Serve controller gauge summed per model (its deployment is `model-<name>`)."""
    return (
        f"label_replace(sum by (deployment) ({metric}{{{_DEPLOYMENTS}}}), "
        '"model", "$1", "deployment", "model-(.+)")'
    )


def build() -> Board:
    b = Board(
        uid="gemma-serve-capacity",
        title="gemma-serve / Capacity",
        description="Replicas, saturation, queues and refusals per model: when to scale.",
        model_query=f"label_values({e.MAX_ONGOING.exported}, model)",
    )
    b.row("Replicas")
    b.timeseries(
        "Replicas",
        "Healthy replicas and the autoscaler's target, from Ray Serve's controller.",
        [
            (serve_by_model(v.SERVE_REPLICA_HEALTHY), "healthy {{model}}"),
            (serve_by_model(v.SERVE_TARGET_REPLICAS), "target {{model}}"),
        ],
        unit="short",
    )
    b.timeseries(
        "Saturation",
        "In-flight requests over the admission limits of the replicas serving them.",
        [
            (
                f"{_IN_FLIGHT} / sum by (model) ({e.MAX_ONGOING.exported}{{{EDGE}}})",
                "{{model}}",
            )
        ],
        unit="percentunit",
    )
    b.timeseries(
        "In flight per replica",
        "Concurrent requests each replica carries (label ReplicaId).",
        [
            (
                f"sum by (model, ReplicaId) ({e.IN_FLIGHT.exported}{{{EDGE}}})",
                "{{model}} {{ReplicaId}}",
            )
        ],
        unit="short",
    )
    b.timeseries(
        "KV-cache usage (max)",
        "Fullest engine per model (1 = full).",
        [(f"max by (model_name) ({v.KV_CACHE_USAGE}{{{VLLM}}})", "{{model_name}}")],
        unit="percentunit",
        max_value=1,
    )

    b.row("Queues")
    b.timeseries(
        "Queued requests (engine)",
        "Requests waiting in the engines' schedulers; the edge holds no queue.",
        [(f"sum by (model_name) ({v.NUM_REQUESTS_WAITING}{{{VLLM}}})", "{{model_name}}")],
        unit="short",
    )
    b.timeseries(
        "Engine queue time p95",
        "Time requests spend waiting inside vLLM.",
        [
            (
                f"histogram_quantile(0.95, sum by (model_name, le) "
                f"(rate({v.QUEUE_TIME}_bucket{{{VLLM}}}[{RATE}])))",
                "{{model_name}}",
            )
        ],
        unit="s",
    )
    b.timeseries(
        "Rejected/s by reason",
        "Requests the edge refused: overloaded (admission limit), too_large, unauthorized.",
        [(rate(e.REJECTED.exported, EDGE, "model, reason"), "{{model}} {{reason}}")],
        unit="reqps",
    )
    b.timeseries(
        "Running requests",
        "Requests in the engines' batches.",
        [(f"sum by (model_name) ({v.NUM_REQUESTS_RUNNING}{{{VLLM}}})", "{{model_name}}")],
        unit="short",
    )

    b.row("LoRA adapters")
    b.timeseries(
        "Adapter loads and evictions/s",
        "Dynamic adapters loaded (first use or admin) and evicted by the replicas' LRU: "
        "evictions close behind loads mean lora.max_cpu_loras is too small for the traffic.",
        [
            (rate(e.ADAPTER_LOADS.exported, EDGE, "model"), "loads {{model}}"),
            (rate(e.ADAPTER_EVICTIONS.exported, EDGE, "model"), "evictions {{model}}"),
        ],
        unit="ops",
    )
    b.timeseries(
        "Dynamic adapters loaded per replica",
        "Adapters each replica holds now (label ReplicaId), up to lora.max_cpu_loras.",
        [
            (
                f"sum by (model, ReplicaId) ({e.ADAPTERS_LOADED.exported}{{{EDGE}}})",
                "{{model}} {{ReplicaId}}",
            )
        ],
        unit="short",
    )

    b.row("API keys")
    b.timeseries(
        "Requests/s by key",
        "Model requests per API key name, admitted and refused by the key's budget (429).",
        [(rate(e.KEY_REQUESTS.exported, EDGE, "key, outcome"), "{{key}} {{outcome}}")],
        unit="reqps",
    )
    b.timeseries(
        "Tokens charged/s by key",
        "Tokens charged to each key's budget on admission (prompt estimate + max output).",
        [(rate(e.KEY_TOKENS.exported, EDGE, "key"), "{{key}}")],
        unit="short",
    )
    return b
