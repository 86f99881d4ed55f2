"""promtool unit tests: for each alert, series that make it fire and series that must not.

`tests.yaml` is generated from these; the expected annotations are the alert's
own, with `{{ $labels.X }}` filled from the expected labels.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expect:
    """At `eval_time`, `alert` fires for exactly these label sets (empty: must not fire)."""

    eval_time: str
    alert: str
    firing: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Case:
    name: str
    series: dict[str, str]
    expects: tuple[Expect, ...]
    interval: str = "1m"


_TTFT = "gemma_serve_time_to_first_token_seconds"

CASES = (
    Case(
        "server errors above 5% fire; client errors do not count",
        {
            'gemma_serve_requests_total{model="bad", status="200"}': "0+90x20",
            'gemma_serve_requests_total{model="bad", status="500"}': "0+10x20",
            'gemma_serve_request_errors_total{model="bad", error_type="internal"}': "0+10x20",
            'gemma_serve_requests_total{model="good", status="200"}': "0+50x20",
            'gemma_serve_requests_total{model="good", status="400"}': "0+50x20",
            'gemma_serve_request_errors_total{model="good", error_type="bad_request"}': "0+50x20",
            'gemma_serve_request_errors_total{model="good", error_type="internal"}': "0x20",
        },
        (
            Expect("3m", "GemmaServeHighErrorRate"),
            Expect("15m", "GemmaServeHighErrorRate", ({"model": "bad"},)),
        ),
    ),
    Case(
        "TTFT budget: 90% misses burn fast and slow, 40% slow only, 1% neither",
        {
            f'{_TTFT}_bucket{{model="slow", le="2.0"}}': "0+10x100",
            f'{_TTFT}_count{{model="slow"}}': "0+100x100",
            # Prometheus 3 writes the bound as "2": the rules match both spellings.
            f'{_TTFT}_bucket{{model="meh", le="2"}}': "0+60x100",
            f'{_TTFT}_count{{model="meh"}}': "0+100x100",
            f'{_TTFT}_bucket{{model="fine", le="2.0"}}': "0+99x100",
            f'{_TTFT}_count{{model="fine"}}': "0+100x100",
        },
        (
            Expect("1m", "GemmaServeTTFTBudgetBurnFast"),
            Expect("90m", "GemmaServeTTFTBudgetBurnFast", ({"model": "slow"},)),
            Expect("90m", "GemmaServeTTFTBudgetBurnSlow", ({"model": "meh"}, {"model": "slow"})),
        ),
    ),
    Case(
        "KV cache above 90% for 10 minutes fires per engine",
        {
            'vllm:kv_cache_usage_perc{model_name="m", engine="0", instance="r1:8000"}': "0.95x30",
            'vllm:kv_cache_usage_perc{model_name="m", engine="0", instance="r2:8000"}': "0.5x30",
        },
        (
            Expect("5m", "GemmaServeKVCacheNearFull"),
            Expect(
                "20m",
                "GemmaServeKVCacheNearFull",
                ({"model_name": "m", "engine": "0", "instance": "r1:8000"},),
            ),
        ),
    ),
    Case(
        "a growing queue fires, a long but steady one does not",
        {
            'vllm:num_requests_waiting{model_name="growing", engine="0", instance="r1"}': "0+2x40",
            'gemma_serve_requests_queued{model="growing", instance="r1"}': "0+1x40",
            'vllm:num_requests_waiting{model_name="steady", engine="0", instance="r2"}': "50x40",
        },
        (
            Expect("8m", "GemmaServeQueueGrowing"),
            Expect("30m", "GemmaServeQueueGrowing", ({"model": "growing"},)),
        ),
    ),
    Case(
        "sustained preemptions fire, rare ones do not",
        {
            'vllm:num_preemptions_total{model_name="m", engine="0", instance="r1"}': "0+60x30",
            'vllm:num_preemptions_total{model_name="m", engine="0", instance="r2"}': "0+1x30",
        },
        (Expect("20m", "GemmaServePreemptions", ({"model_name": "m", "instance": "r1"},)),),
    ),
    Case(
        "a model whose replicas drop to zero fires after a minute",
        {
            'gemma_serve_replicas{model="down", instance="ctl"}': "2x5 0x20",
            'gemma_serve_replicas{model="up", instance="ctl"}': "2x25",
        },
        (
            Expect("3m", "GemmaServeNoHealthyReplicas"),
            Expect("6m", "GemmaServeNoHealthyReplicas"),
            Expect("15m", "GemmaServeNoHealthyReplicas", ({"model": "down"},)),
        ),
    ),
)
