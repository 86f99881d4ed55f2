"""The vLLM V1 engine metrics gemma-serve queries, and the names it must never query.

Checked against vLLM 0.32's `vllm/v1/metrics/loggers.py` (PrometheusStatLogger),
whose series carry `model_name` (the served model name) and `engine` (engine
index). `tests/metrics/test_vllm_metric_names.py` checks every name and label
used by the dashboards and rules against what the installed vLLM exports.
"""

from __future__ import annotations

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
    "REQUEST_GENERATION_TOKENS",
    "REQUEST_PROMPT_TOKENS",
    "REQUEST_SUCCESS",
    "TPOT",
    "TTFT",
]

MODEL_LABEL = "model_name"
ENGINE_LABEL = "engine"

# Gauges
NUM_REQUESTS_RUNNING = "vllm:num_requests_running"
NUM_REQUESTS_WAITING = "vllm:num_requests_waiting"
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"  # 0..1
# Counters (exported with `_total`)
PROMPT_TOKENS = "vllm:prompt_tokens_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
NUM_PREEMPTIONS = "vllm:num_preemptions_total"
REQUEST_SUCCESS = "vllm:request_success_total"  # label finished_reason
PREFIX_CACHE_QUERIES = "vllm:prefix_cache_queries_total"
PREFIX_CACHE_HITS = "vllm:prefix_cache_hits_total"
# Histograms (query `_bucket`, `_sum`, `_count`)
TTFT = "vllm:time_to_first_token_seconds"
ITL = "vllm:inter_token_latency_seconds"
TPOT = "vllm:request_time_per_output_token_seconds"
E2E = "vllm:e2e_request_latency_seconds"
QUEUE_TIME = "vllm:request_queue_time_seconds"
PREFILL_TIME = "vllm:request_prefill_time_seconds"
DECODE_TIME = "vllm:request_decode_time_seconds"
REQUEST_PROMPT_TOKENS = "vllm:request_prompt_tokens"
REQUEST_GENERATION_TOKENS = "vllm:request_generation_tokens"

#: Names from the V0 engine or hidden/removed in V1: a dashboard querying them shows "No data".
DEPRECATED = frozenset(
    {
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
    }
)
#: Every `vllm:gpu_*` / `vllm:cpu_*` name is a V0 cache metric.
DEPRECATED_PREFIXES = ("vllm:gpu_", "vllm:cpu_")
