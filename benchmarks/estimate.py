"""How long a full suite would take, from the timings a (quick) run measured.

Per server: its median start and stop, seconds per request at 1 stream and per
output token at 16 streams; the full run's turns in mirror order (a server at
a round boundary starts once for two turns); the parity check scaled by its
request count; whatever else the measured run spent (planning, warm-ups,
reports) added as it was.
"""

from __future__ import annotations

from statistics import median

from benchmarks.record import SuiteRecord
from gemma_serve.bench.compare import schedule
from gemma_serve.bench.results import ParityResult, RunMetrics, SideBySideResult
from gemma_serve.bench.spec import BenchSpec


def _step_cost(
    runs: list[RunMetrics], requests: int, tokens_per_request: int, streams: int
) -> float:
    """Seconds for `requests`: per request at 1 stream, per output token above."""
    if streams == 1:
        return requests * median(m.duration_s / max(m.completed, 1) for m in runs)
    per_token = median(m.duration_s / max(m.total_output_tokens, 1) for m in runs)
    return requests * tokens_per_request * per_token


def estimate_seconds(
    record: SuiteRecord,
    result: SideBySideResult,
    parity: ParityResult | None,
    full: BenchSpec,
    *,
    rounds: int,
    parity_requests: int,
) -> float:
    """Wall time of `full` in `rounds` mirror-order rounds, from a measured run's timings."""
    tokens = full.dataset.output_len.upper
    measured_steps = sum(run.metrics.duration_s for rnd in result.rounds for run in rnd.runs)
    measured_starts = sum(x.ready_s + x.stop_s for xs in record.launches.values() for x in xs)
    measured_parity = (
        sum(m.duration_s for m in [*parity.ours, *parity.vllm]) if parity is not None else 0.0
    )
    other = max(0.0, record.wall_s - measured_steps - measured_starts - measured_parity)

    total, up = other, None
    for _, target in schedule(result.targets, rounds, "mirror"):
        name = target.name
        if name != up:
            starts = record.launches[name]
            total += median(x.ready_s for x in starts) + median(x.stop_s for x in starts)
            up = name
        for step, load in enumerate(full.loads):
            streams = getattr(load, "concurrency", 1)
            runs = [
                run.metrics
                for rnd in result.rounds
                if rnd.target == name
                for run in rnd.runs
                if run.label == load.label
            ]
            total += _step_cost(runs, full.step_requests(step), tokens, streams)
    if parity is not None:
        total += measured_parity * parity_requests / max(parity.spec.step_requests(0), 1)
    return total
