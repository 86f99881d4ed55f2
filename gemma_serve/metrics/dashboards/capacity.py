"""Capacity: replicas, queues, saturation and what gets turned away."""

from __future__ import annotations

from gemma_serve.metrics import vllm_names as v
from gemma_serve.metrics.dashboards._build import EDGE, RATE, VLLM, Board, rate

_IN_FLIGHT = f"sum by (model) (gemma_serve_requests_in_flight{{{EDGE}}})"
_REPLICAS = f"max by (model) (gemma_serve_replicas{{{EDGE}}})"


def build() -> Board:
    b = Board(
        uid="gemma-serve-capacity",
        title="gemma-serve / Capacity",
        description="Replicas, queues and saturation per model: when to scale, what is refused.",
        model_query="label_values(gemma_serve_requests_in_flight, model)",
    )
    b.row("Replicas")
    b.timeseries(
        "Replicas",
        "Healthy replicas and the autoscaler's target.",
        [
            (_REPLICAS, "healthy {{model}}"),
            (f"max by (model) (gemma_serve_replicas_desired{{{EDGE}}})", "desired {{model}}"),
        ],
        unit="short",
    )
    b.timeseries(
        "Saturation",
        "In-flight requests over replicas x max ongoing requests.",
        [
            (
                f"{_IN_FLIGHT} / ({_REPLICAS} * max by (model) "
                f"(gemma_serve_max_ongoing_requests{{{EDGE}}}))",
                "{{model}}",
            )
        ],
        unit="percentunit",
    )
    b.timeseries(
        "In flight per replica",
        "Concurrent requests each healthy replica carries.",
        [(f"{_IN_FLIGHT} / {_REPLICAS}", "{{model}}")],
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
        "Queued requests",
        "Waiting at the edge and in the engines' schedulers.",
        [
            (f"sum by (model) (gemma_serve_requests_queued{{{EDGE}}})", "edge {{model}}"),
            (f"sum by (model_name) ({v.NUM_REQUESTS_WAITING}{{{VLLM}}})", "engine {{model_name}}"),
        ],
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
        "Requests refused before reaching an engine.",
        [
            (
                rate("gemma_serve_requests_rejected_total", EDGE, "model, reason"),
                "{{model}} {{reason}}",
            )
        ],
        unit="reqps",
    )
    b.timeseries(
        "Running requests",
        "Requests in the engines' batches.",
        [(f"sum by (model_name) ({v.NUM_REQUESTS_RUNNING}{{{VLLM}}})", "{{model_name}}")],
        unit="short",
    )
    return b
