"""The engine and Serve metric names the dashboards and rules query, as Ray exports them.

vLLM's engine metrics reach Prometheus through vLLM's `RayPrometheusStatLogger`
(vllm/v1/metrics/ray_wrappers.py): `vllm:num_requests_running` is sanitised to
`vllm_num_requests_running` and exported by each node's metrics agent as
`ray_vllm_num_requests_running`, labelled `model_name`, `engine` and `ReplicaId`.
Ray Serve's controller exports the replica counts (labels `deployment`,
`application`, and `replica` on the health gauge). Checked against the installed
vLLM by tests/metrics/test_vllm_metric_names.py, against the running stack by
tests/metrics/test_live_queries.py.
"""

from __future__ import annotations

import re

__all__ = [
    "DECODE_TIME",
    "DEPRECATED",
    "DEPRECATED_PREFIXES",
    "E2E",
    "ENGINE_LABEL",
    "GENERATION_TOKENS",
    "ITL",
    "KV_CACHE_USAGE",
    "MODEL_LABEL",
    "NUM_PREEMPTIONS",
    "NUM_REQUESTS_RUNNING",
    "NUM_REQUESTS_WAITING",
    "PREFILL_TIME",
    "PREFIX_CACHE_HITS",
    "PREFIX_CACHE_QUERIES",
    "PROMPT_TOKENS",
    "QUEUE_TIME",
    "REPLICA_LABEL",
    "REQUEST_GENERATION_TOKENS",
    "REQUEST_PROMPT_TOKENS",
    "REQUEST_SUCCESS",
    "SERVE_REPLICA_HEALTHY",
    "SERVE_TARGET_REPLICAS",
    "TPOT",
    "TTFT",
    "VLLM_NAMES",
    "deployment_selector",
    "ray_exported",
]


def ray_exported(vllm_name: str) -> str:
    """The name Ray exports for a vLLM metric name (vLLM's own sanitising, Ray's prefix)."""
    return "ray_" + re.sub(r"[^a-zA-Z0-9_]", "_", vllm_name)


MODEL_LABEL = "model_name"
ENGINE_LABEL = "engine"
#: Added by vLLM's Ray wrappers; gemma-serve's edge series carry the same tag.
REPLICA_LABEL = "ReplicaId"

#: vLLM V1's own names (vllm/v1/metrics/loggers.py), by the constant that exports them.
VLLM_NAMES: dict[str, str] = {
    # Gauges
    "NUM_REQUESTS_RUNNING": "vllm:num_requests_running",
    "NUM_REQUESTS_WAITING": "vllm:num_requests_waiting",
    "KV_CACHE_USAGE": "vllm:kv_cache_usage_perc",  # 0..1
    # Counters (exported with `_total`)
    "PROMPT_TOKENS": "vllm:prompt_tokens_total",
    "GENERATION_TOKENS": "vllm:generation_tokens_total",
    "NUM_PREEMPTIONS": "vllm:num_preemptions_total",
    "REQUEST_SUCCESS": "vllm:request_success_total",  # label finished_reason
    "PREFIX_CACHE_QUERIES": "vllm:prefix_cache_queries_total",
    "PREFIX_CACHE_HITS": "vllm:prefix_cache_hits_total",
    # Histograms (query `_bucket`, `_sum`, `_count`)
    "TTFT": "vllm:time_to_first_token_seconds",
    "ITL": "vllm:inter_token_latency_seconds",
    "TPOT": "vllm:request_time_per_output_token_seconds",
    "E2E": "vllm:e2e_request_latency_seconds",
    "QUEUE_TIME": "vllm:request_queue_time_seconds",
    "PREFILL_TIME": "vllm:request_prefill_time_seconds",
    "DECODE_TIME": "vllm:request_decode_time_seconds",
    "REQUEST_PROMPT_TOKENS": "vllm:request_prompt_tokens",
    "REQUEST_GENERATION_TOKENS": "vllm:request_generation_tokens",
}

NUM_REQUESTS_RUNNING = ray_exported(VLLM_NAMES["NUM_REQUESTS_RUNNING"])
NUM_REQUESTS_WAITING = ray_exported(VLLM_NAMES["NUM_REQUESTS_WAITING"])
KV_CACHE_USAGE = ray_exported(VLLM_NAMES["KV_CACHE_USAGE"])
PROMPT_TOKENS = ray_exported(VLLM_NAMES["PROMPT_TOKENS"])
GENERATION_TOKENS = ray_exported(VLLM_NAMES["GENERATION_TOKENS"])
NUM_PREEMPTIONS = ray_exported(VLLM_NAMES["NUM_PREEMPTIONS"])
REQUEST_SUCCESS = ray_exported(VLLM_NAMES["REQUEST_SUCCESS"])
PREFIX_CACHE_QUERIES = ray_exported(VLLM_NAMES["PREFIX_CACHE_QUERIES"])
PREFIX_CACHE_HITS = ray_exported(VLLM_NAMES["PREFIX_CACHE_HITS"])
TTFT = ray_exported(VLLM_NAMES["TTFT"])
ITL = ray_exported(VLLM_NAMES["ITL"])
TPOT = ray_exported(VLLM_NAMES["TPOT"])
E2E = ray_exported(VLLM_NAMES["E2E"])
QUEUE_TIME = ray_exported(VLLM_NAMES["QUEUE_TIME"])
PREFILL_TIME = ray_exported(VLLM_NAMES["PREFILL_TIME"])
DECODE_TIME = ray_exported(VLLM_NAMES["DECODE_TIME"])
REQUEST_PROMPT_TOKENS = ray_exported(VLLM_NAMES["REQUEST_PROMPT_TOKENS"])
REQUEST_GENERATION_TOKENS = ray_exported(VLLM_NAMES["REQUEST_GENERATION_TOKENS"])

#: Ray Serve's controller: 1 per healthy replica (labels deployment, replica, application).
SERVE_REPLICA_HEALTHY = "ray_serve_deployment_replica_healthy"
#: The replica count Serve's autoscaler is driving towards (labels deployment, application).
SERVE_TARGET_REPLICAS = "ray_serve_autoscaling_target_replicas"


def deployment_selector(model_regex: str) -> str:
    """Label matcher for the Serve deployments of models matching `model_regex`.

    A model's deployment is `model-<name>` (gemma_serve.serve.deployment), with
    characters other than letters, digits, `-` and `_` replaced by `-`.
    """
    return f'deployment=~"model-({model_regex})"'


#: vLLM names from the V0 engine or hidden/removed in V1, as Ray would export them:
#: a dashboard querying them shows "No data".
DEPRECATED = frozenset(
    ray_exported(n)
    for n in (
        "vllm:gpu_cache_usage_perc",
        "vllm:cpu_cache_usage_perc",
        "vllm:gpu_prefix_cache_queries",
        "vllm:gpu_prefix_cache_hits",
        "vllm:gpu_prefix_cache_hit_rate",
        "vllm:cpu_prefix_cache_hit_rate",
        "vllm:time_per_output_token_seconds",
        "vllm:num_requests_swapped",
        "vllm:num_preemptions",  # V0 name; V1 exports vllm:num_preemptions_total
        "vllm:avg_prompt_throughput_toks_per_s",
        "vllm:avg_generation_throughput_toks_per_s",
        "vllm:model_forward_time_milliseconds",
        "vllm:model_execute_time_milliseconds",
        "vllm:spec_decode_draft_acceptance_rate",
        "vllm:spec_decode_efficiency",
    )
)
#: Every `vllm:gpu_*` / `vllm:cpu_*` name is a V0 cache metric; so is the un-prefixed
#: prometheus_client spelling, which nothing exports any more.
DEPRECATED_PREFIXES = ("ray_vllm_gpu_", "ray_vllm_cpu_", "vllm:")
