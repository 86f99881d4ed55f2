"""Per-request records to metrics, with `vllm bench serve`'s definitions.

- throughputs divide by the step's wall time (first send to last completion);
- TPOT = (E2EL - TTFT) / (output tokens - 1), only for requests with > 1 token;
  for goodput a one-token request counts with TPOT 0, as in vLLM;
- ITL pools every gap between token chunks of every successful request;
- percentiles are numpy's (linear interpolation), std is the population std.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from gemma_serve.bench.results import Distribution, RequestRecord, RunMetrics
from gemma_serve.bench.spec import Slo


def summarize_ms(values_s: Sequence[float]) -> Distribution | None:
    """Distribution of `values_s` (seconds) in milliseconds; None if empty."""
    if not values_s:
        return None
    a = np.asarray(values_s, dtype=np.float64) * 1000.0
    p90, p99 = np.percentile(a, [90, 99])
    return Distribution(
        count=int(a.size),
        mean=float(np.mean(a)),
        median=float(np.median(a)),
        std=float(np.std(a)),
        p90=float(p90),
        p99=float(p99),
        min=float(np.min(a)),
        max=float(np.max(a)),
    )


def output_len(record: RequestRecord) -> int:
    """Output tokens of a success: usage if reported, else its token chunks."""
    if record.output_tokens > 0:
        return record.output_tokens
    return 1 + len(record.itl_s)


def tpot_s(record: RequestRecord) -> float | None:
    """Time per output token after the first; None for one-token outputs."""
    n = output_len(record)
    if n <= 1 or record.latency_s is None or record.ttft_s is None:
        return None
    return (record.latency_s - record.ttft_s) / (n - 1)


def meets_slo(record: RequestRecord, slo: Slo) -> bool:
    """Whether a successful request meets every set SLO (bounds are inclusive)."""
    if record.ttft_s is None or record.latency_s is None:
        return False
    if slo.ttft_ms is not None and record.ttft_s * 1000.0 > slo.ttft_ms:
        return False
    if slo.tpot_ms is not None and (tpot_s(record) or 0.0) * 1000.0 > slo.tpot_ms:
        return False
    return not (slo.e2el_ms is not None and record.latency_s * 1000.0 > slo.e2el_ms)


def error_key(record: RequestRecord) -> str:
    """How a failure is counted: its HTTP status if it had one, else its kind."""
    if record.error_kind == "http" and record.status is not None:
        return str(record.status)
    return record.error_kind or "unknown"


def compute_metrics(records: Sequence[RequestRecord], duration_s: float, slo: Slo) -> RunMetrics:
    """Aggregate one step's records; `duration_s` must be positive."""
    if duration_s <= 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    ok = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    out_lens = [output_len(r) for r in ok]
    total_in = sum(r.prompt_tokens or 0 for r in ok)
    total_out = sum(out_lens)
    tpots = [t for t in (tpot_s(r) for r in ok) if t is not None]
    itls = [g for r in ok for g in r.itl_s]
    goodput = None
    if slo.active:
        goodput = sum(1 for r in ok if meets_slo(r, slo)) / duration_s
    return RunMetrics(
        completed=len(ok),
        failed=len(failed),
        duration_s=duration_s,
        total_input_tokens=total_in,
        total_output_tokens=total_out,
        request_throughput=len(ok) / duration_s,
        request_goodput=goodput,
        output_throughput=total_out / duration_s,
        total_token_throughput=(total_in + total_out) / duration_s,
        ttft_ms=summarize_ms([r.ttft_s for r in ok if r.ttft_s is not None]),
        tpot_ms=summarize_ms(tpots),
        itl_ms=summarize_ms(itls),
        e2el_ms=summarize_ms([r.latency_s for r in ok if r.latency_s is not None]),
        errors=dict(sorted(Counter(error_key(r) for r in failed).items())),
    )
