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


_TTFT = "ray_gemma_serve_time_to_first_token_seconds"
_REQ = "ray_gemma_serve_requests_total"
_ERR = "ray_gemma_serve_request_errors_total"
_TARGET, _HEALTHY = "ray_serve_autoscaling_target_replicas", "ray_serve_deployment_replica_healthy"
_WAITING, _APP = "ray_vllm_num_requests_waiting", 'application="gemma-serve"'
_R1, _R2 = 'ReplicaId="r1", WorkerId="w1"', 'ReplicaId="r2", WorkerId="w2"'


CASES = (
    Case(
        "server errors above 5% fire; client errors do not count",
        {
            # "bad" on two replicas: 10% of its requests fail, all on r2.
            f'{_REQ}{{model="bad", status="200", {_R1}}}': "0+50x20",
            f'{_REQ}{{model="bad", status="200", {_R2}}}': "0+40x20",
            f'{_REQ}{{model="bad", status="500", {_R2}}}': "0+10x20",
            f'{_ERR}{{model="bad", error_type="internal", {_R2}}}': "0+10x20",
            f'{_REQ}{{model="good", status="200", {_R1}}}': "0+50x20",
            f'{_REQ}{{model="good", status="400", {_R1}}}': "0+50x20",
            f'{_ERR}{{model="good", error_type="bad_request", {_R1}}}': "0+50x20",
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
            f'ray_vllm_kv_cache_usage_perc{{model_name="m", engine="0", {_R1}}}': "0.95x30",
            f'ray_vllm_kv_cache_usage_perc{{model_name="m", engine="0", {_R2}}}': "0.5x30",
        },
        (
            Expect("5m", "GemmaServeKVCacheNearFull"),
            Expect(
                "20m",
                "GemmaServeKVCacheNearFull",
                ({"model_name": "m", "ReplicaId": "r1"},),
            ),
        ),
    ),
    Case(
        "a growing queue fires, a long but steady one does not",
        {
            # Two replicas of "growing", each queue growing by 1 a minute.
            f'{_WAITING}{{model_name="growing", engine="0", {_R1}}}': "0+1x40",
            f'{_WAITING}{{model_name="growing", engine="0", {_R2}}}': "0+1x40",
            f'{_WAITING}{{model_name="steady", engine="0", ReplicaId="r3"}}': "50x40",
        },
        (
            Expect("8m", "GemmaServeQueueGrowing"),
            Expect("30m", "GemmaServeQueueGrowing", ({"model": "growing"},)),
        ),
    ),
    Case(
        "sustained preemptions fire, rare ones do not",
        {
            f'ray_vllm_num_preemptions_total{{model_name="m", engine="0", {_R1}}}': "0+60x30",
            f'ray_vllm_num_preemptions_total{{model_name="m", engine="0", {_R2}}}': "0+1x30",
        },
        (Expect("20m", "GemmaServePreemptions", ({"model_name": "m", "ReplicaId": "r1"},)),),
    ),
    Case(
        "a model whose replicas all fail or vanish fires; one scaled to zero does not",
        {
            # Serve's controller: one series per replica; a failed one reads 0, then goes.
            f'{_TARGET}{{deployment="model-down", {_APP}}}': "2x25",
            f'{_HEALTHY}{{deployment="model-down", replica="a", {_APP}}}': "1x5 0x3",
            f'{_HEALTHY}{{deployment="model-down", replica="b", {_APP}}}': "1x5 0x20",
            f'{_TARGET}{{deployment="model-up", {_APP}}}': "2x25",
            f'{_HEALTHY}{{deployment="model-up", replica="c", {_APP}}}': "1x25",
            f'{_HEALTHY}{{deployment="model-up", replica="d", {_APP}}}': "1x5 0x2 1x17",
            f'{_TARGET}{{deployment="model-idle", {_APP}}}': "0x25",
        },
        (
            Expect("3m", "GemmaServeNoHealthyReplicas"),
            Expect("6m", "GemmaServeNoHealthyReplicas"),
            Expect(
                "15m",
                "GemmaServeNoHealthyReplicas",
                ({"model": "down", "deployment": "model-down"},),
            ),
        ),
    ),
)
