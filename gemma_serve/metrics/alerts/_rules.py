"""The alert and recording rules, as data; `rules.yaml` is generated from them.

Annotations may use `{{ $labels.NAME }}` only (no `$value`), so the promtool
unit tests can state the exact text each firing alert carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from gemma_serve.metrics import edge as e
from gemma_serve.metrics import names as v
from gemma_serve.metrics.edge import SERVER_ERROR_TYPES

#: TTFT SLO: 95% of requests get their first event within 2 s (a TTFT histogram bound).
TTFT_SLO_SECONDS = 2.0
TTFT_SLO_OBJECTIVE = 0.95
_BUDGET = round(1 - TTFT_SLO_OBJECTIVE, 6)
#: Multi-window burn rates from the SRE workbook: 2% / 5% of a 30-day budget in 1 h / 6 h.
FAST_BURN, SLOW_BURN = 14.4, 6.0
SLO_WINDOWS = ("5m", "30m", "1h", "6h")


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    runbook: str


def ttft_miss_ratio(window: str) -> str:
    """Share of requests whose TTFT exceeded the SLO threshold over `window`.

    `le` is "2.0" as Ray's exporter writes it and "2" once Prometheus 3 normalises it.
    """
    ttft = e.TTFT.exported
    return (
        f'1 - (sum by (model) (rate({ttft}_bucket{{le=~"2|2.0"}}[{window}])) '
        f"/ sum by (model) (rate({ttft}_count[{window}])))"
    )


RECORDINGS = (
    *(Recording(f"gemma_serve:ttft_slo_miss:ratio_rate{w}", ttft_miss_ratio(w))
      for w in SLO_WINDOWS),
    Recording(
        "gemma_serve:queue_depth:sum",
        # The engines' queues over every replica (vLLM labels the model `model_name`);
        # the edge queues nothing: beyond the admission limit it answers 503.
        f'sum by (model) (label_replace({v.NUM_REQUESTS_WAITING}, "model", "$1", '
        f'"model_name", "(.+)"))',
    ),
)  # fmt: skip

_SERVER = "|".join(SERVER_ERROR_TYPES)


def _by_model(serve_gauge: str) -> str:
    """A Serve controller gauge summed per model deployment (`model-<name>`), labelled `model`."""
    return (
        f'label_replace(sum by (deployment) ({serve_gauge}{{deployment=~"model-.+"}}), '
        '"model", "$1", "deployment", "model-(.+)")'
    )


_FAST = round(FAST_BURN * _BUDGET, 6)
_SLOW = round(SLOW_BURN * _BUDGET, 6)

ALERTS = (
    Alert(
        name="GemmaServeHighErrorRate",
        expr=(
            f'sum by (model) (rate({e.ERRORS.exported}{{error_type=~"{_SERVER}"}}[5m])) '
            f"/ sum by (model) (rate({e.REQUESTS.exported}[5m])) > 0.05"
        ),
        for_="5m",
        severity="critical",
        summary="{{ $labels.model }}: more than 5% of requests fail with server errors",
        description=f"Errors of type {_SERVER} exceeded 5% of finished requests for 5 minutes.",
        runbook=(
            "1. Overview dashboard, 'Errors/s by type': which type dominates.\n"
            "2. internal / stream_error: read the replica logs for tracebacks; an engine that\n"
            "   died shows as EngineDeadError and the replica should be restarted by Serve.\n"
            "3. unavailable: engines are overloaded or restarting; check the Capacity dashboard\n"
            "   (replicas, queue) and scale out or lower max_ongoing_requests.\n"
            "4. timeout: compare edge and engine latency; a long queue means too little capacity.\n"
        ),
    ),
    Alert(
        name="GemmaServeTTFTBudgetBurnFast",
        expr=(
            f"gemma_serve:ttft_slo_miss:ratio_rate1h > {_FAST} "
            f"and gemma_serve:ttft_slo_miss:ratio_rate5m > {_FAST}"
        ),
        for_="2m",
        severity="critical",
        summary="{{ $labels.model }}: TTFT SLO error budget burning 14.4x too fast",
        description=(
            f"More than {_FAST:.0%} of requests waited over {TTFT_SLO_SECONDS:g} s for their "
            "first token in the last hour and the last 5 minutes; at this rate the 30-day "
            f"budget ({_BUDGET:.0%} of requests) is gone in about 2 days."
        ),
        runbook=(
            "1. Engine dashboard: waiting requests and queue time high -> not enough capacity;\n"
            "   scale replicas out (Capacity dashboard shows saturation).\n"
            "2. Prefill time high with a short queue -> prompts got longer or images more\n"
            "   frequent; check prompt length and images/s.\n"
            "3. KV-cache usage near 1 and preemptions -> lower max_num_seqs or add KV memory.\n"
            "4. Only at the edge (engine TTFT fine) -> look at the proxy path and CPU of the\n"
            "   replica process.\n"
        ),
    ),
    Alert(
        name="GemmaServeTTFTBudgetBurnSlow",
        expr=(
            f"gemma_serve:ttft_slo_miss:ratio_rate6h > {_SLOW} "
            f"and gemma_serve:ttft_slo_miss:ratio_rate30m > {_SLOW}"
        ),
        for_="15m",
        severity="warning",
        summary="{{ $labels.model }}: TTFT SLO error budget burning 6x too fast",
        description=(
            f"More than {_SLOW:.0%} of requests waited over {TTFT_SLO_SECONDS:g} s for their "
            "first token over 6 hours and the last 30 minutes; the 30-day budget lasts 5 days."
        ),
        runbook=(
            "1. Same causes as the fast burn, slower: compare today's traffic with capacity.\n"
            "2. Raise min replicas or the autoscaling target if load grew for good.\n"
            "3. If one replica is slower than the others, drain and replace it.\n"
        ),
    ),
    Alert(
        name="GemmaServeKVCacheNearFull",
        expr=f"max by (model_name, ReplicaId) ({v.KV_CACHE_USAGE}) > 0.9",
        for_="10m",
        severity="warning",
        summary="{{ $labels.model_name }}: KV cache over 90% on replica {{ $labels.ReplicaId }}",
        description="The engine keeps nearly all KV-cache blocks in use; preemptions follow.",
        runbook=(
            "1. Engine dashboard: preemptions/s rising with it means requests are recomputed.\n"
            "2. Lower max_num_seqs or max_model_len, or give the engine more KV memory\n"
            "   (gpu_memory_utilization; VLLM_CPU_KVCACHE_SPACE on CPU).\n"
            "3. Add replicas so each engine carries fewer concurrent sequences.\n"
        ),
    ),
    Alert(
        name="GemmaServeQueueGrowing",
        expr="gemma_serve:queue_depth:sum > 10 and deriv(gemma_serve:queue_depth:sum[10m]) > 0",
        for_="10m",
        severity="warning",
        summary="{{ $labels.model }}: request queue above 10 and still growing",
        description="Requests waiting at the edge and in the engines kept growing for 10 minutes.",
        runbook=(
            "1. Capacity dashboard: are replicas at the desired count? If not, see why the new\n"
            "   ones are not ready (cold start, placement).\n"
            "2. If all replicas are up and saturated, raise max replicas or shed load.\n"
            "3. A queue growing with idle engines points at the router or a stuck replica.\n"
        ),
    ),
    Alert(
        name="GemmaServePreemptions",
        expr=f"sum by (model_name, ReplicaId) (rate({v.NUM_PREEMPTIONS}[5m])) > 0.1",
        for_="10m",
        severity="warning",
        summary="{{ $labels.model_name }}: the engine of replica {{ $labels.ReplicaId }} keeps "
        "preempting",
        description="More than one preemption every 10 s for 10 minutes: KV cache is too small.",
        runbook=(
            "1. Preempted requests are recomputed: TTFT and ITL suffer, throughput drops.\n"
            "2. Lower max_num_seqs or max_model_len, or give the engine more KV memory.\n"
            "3. Add replicas to spread the concurrent sequences.\n"
        ),
    ),
    Alert(
        name="GemmaServeNoHealthyReplicas",
        expr=(
            f"{_by_model(v.SERVE_TARGET_REPLICAS)} > 0 "
            f"unless on (model) {_by_model(v.SERVE_REPLICA_HEALTHY)} >= 1"
        ),
        for_="1m",
        severity="critical",
        summary="{{ $labels.model }}: no healthy replica is serving",
        description=(
            "Ray Serve wants replicas for this model but none is healthy: every request "
            "for it fails until one is."
        ),
        runbook=(
            "1. Check the Serve application status and the replica logs (engine start errors,\n"
            "   out of memory, missing checkpoint).\n"
            "2. Check the placement: are the CPUs/GPUs the replica needs free in the cluster?\n"
            "3. If both metrics are missing, the scrape target of the head node (Serve's\n"
            "   controller) is down: see up{}.\n"
        ),
    ),
)
