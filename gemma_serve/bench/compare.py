"""Side by side: the same load against several targets, in alternating rounds.

Round r runs every target with the same prompts (seeded by the round), so
drift on a shared machine hits all targets alike. With `order="mirror"` every
other round runs the targets in reverse (A B C, C B A, A B C): each target's
average position is the same, and the target at a round boundary runs twice in
a row, so with `lifetime="turn"` its server starts once for both turns. The
summary takes medians over rounds, divides by the baseline target, and gives
the spread of the ratio taken round by round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from statistics import median
from typing import Literal

import httpx

from gemma_serve.bench.launch import Launcher
from gemma_serve.bench.progress import ProgressSink
from gemma_serve.bench.results import (
    ComparisonRow,
    RoundResult,
    RunMetrics,
    SideBySideResult,
    Spread,
)
from gemma_serve.bench.runner import run_bench
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.errors import ConfigError

Lifetime = Literal["turn", "session"]
Order = Literal["repeat", "mirror"]
Metric = Literal["output_throughput", "ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms"]

#: How each compared metric is read from one run.
METRICS: dict[Metric, Callable[[RunMetrics], float | None]] = {
    "output_throughput": lambda m: m.output_throughput,
    "ttft_p50_ms": lambda m: m.ttft_ms.median if m.ttft_ms else None,
    "ttft_p99_ms": lambda m: m.ttft_ms.p99 if m.ttft_ms else None,
    "itl_p50_ms": lambda m: m.itl_ms.median if m.itl_ms else None,
}
_RATIO_FIELDS: dict[Metric, str] = {
    "output_throughput": "throughput_ratio",
    "ttft_p50_ms": "ttft_p50_ratio",
    "ttft_p99_ms": "ttft_p99_ratio",
    "itl_p50_ms": "itl_p50_ratio",
}


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def spread(values: Sequence[float]) -> Spread | None:
    """Min, median and max of `values`; None if there are none."""
    if not values:
        return None
    return Spread(min=min(values), median=median(values), max=max(values), n=len(values))


def per_round(
    rounds: Sequence[RoundResult], target: str, label: str, metric: Metric
) -> dict[int, float]:
    """`metric` of `target`'s run of step `label`, by round (rounds without it are left out)."""
    out: dict[int, float] = {}
    for rnd in rounds:
        if rnd.target != target:
            continue
        for run in rnd.runs:
            value = METRICS[metric](run.metrics) if run.label == label else None
            if value is not None:
                out[rnd.round] = value
    return out


def paired_ratios(
    rounds: Sequence[RoundResult], numerator: str, denominator: str, label: str, metric: Metric
) -> list[float]:
    """numerator / denominator for `metric` of step `label`, one ratio per round both ran."""
    num = per_round(rounds, numerator, label, metric)
    den = per_round(rounds, denominator, label, metric)
    return [num[r] / den[r] for r in sorted(num.keys() & den.keys()) if den[r] != 0]


def _row(label: str, target: str, metrics: list[RunMetrics]) -> ComparisonRow:
    return ComparisonRow(
        label=label,
        target=target,
        rounds=len(metrics),
        output_throughput=_median([METRICS["output_throughput"](m) for m in metrics]),
        ttft_p50_ms=_median([METRICS["ttft_p50_ms"](m) for m in metrics]),
        ttft_p99_ms=_median([METRICS["ttft_p99_ms"](m) for m in metrics]),
        itl_p50_ms=_median([METRICS["itl_p50_ms"](m) for m in metrics]),
    )


def summarize_rounds(
    rounds: Sequence[RoundResult], targets: Sequence[str], baseline: str | None = None
) -> list[ComparisonRow]:
    """Medians over rounds per (load step, target), ratios to `baseline` (default the first)."""
    baseline = baseline or targets[0]
    labels: list[str] = []
    per: dict[tuple[int, str], list[RunMetrics]] = {}
    for rnd in rounds:
        for step, run in enumerate(rnd.runs):
            if step == len(labels):
                labels.append(run.label)
            per.setdefault((step, rnd.target), []).append(run.metrics)
    rows: list[ComparisonRow] = []
    for step, label in enumerate(labels):
        base = _row(label, baseline, per.get((step, baseline), []))
        for name in targets:
            row = _row(label, name, per.get((step, name), []))
            update: dict[str, object] = {}
            for metric, field in _RATIO_FIELDS.items():
                update[field] = _ratio(getattr(row, metric), getattr(base, metric))
                update[f"{field}_rounds"] = spread(
                    paired_ratios(rounds, name, baseline, label, metric)
                )
            rows.append(row.model_copy(update=update))
    return rows


def schedule(targets: Sequence[Target], rounds: int, order: Order) -> list[tuple[int, Target]]:
    """The turns in run order: (round, target)."""
    turns: list[tuple[int, Target]] = []
    for r in range(rounds):
        ordered = list(targets) if order == "repeat" or r % 2 == 0 else list(reversed(targets))
        turns += [(r, t) for t in ordered]
    return turns


async def run_side_by_side(
    spec: BenchSpec,
    targets: Sequence[Target],
    *,
    rounds: int = 3,
    launchers: Mapping[str, Launcher] | None = None,
    lifetime: Lifetime = "turn",
    order: Order = "repeat",
    baseline: str | None = None,
    after_turn: Callable[[int, Target], Awaitable[None]] | None = None,
    api_key: str | None = None,
    progress: ProgressSink | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SideBySideResult:
    """Run `spec` against every target, `rounds` times, alternating.

    `launchers` maps a target name to what starts its server: per turn
    (`lifetime="turn"`: only one server runs at a time; consecutive turns of
    one target share a start) or once for the whole comparison (`"session"`).
    Ratios divide by `baseline` (default the first target). `after_turn(round,
    target)` runs after each turn, while that target's server is still up.
    """
    names = [t.name for t in targets]
    if len(targets) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"side-by-side needs two or more distinct target names, got {names}")
    if rounds < 1:
        raise ConfigError(f"rounds must be at least 1, got {rounds}")
    baseline = baseline or names[0]
    if baseline not in names:
        raise ConfigError(f"baseline {baseline!r} is not one of the targets {names}")
    unknown = set(launchers or {}) - set(names)
    if unknown:
        raise ConfigError(f"launchers for unknown targets: {sorted(unknown)}")
    launchers = launchers or {}
    created = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[RoundResult] = []
    async with AsyncExitStack() as session:
        if lifetime == "session":
            for name in names:
                if name in launchers:
                    await session.enter_async_context(launchers[name]())
        up: str | None = None  # the target whose server runs now (lifetime "turn")
        for r, target in schedule(targets, rounds, order):
            if lifetime == "turn" and up != target.name:
                await session.aclose()
                up = None
                if target.name in launchers:
                    await session.enter_async_context(launchers[target.name]())
                    up = target.name
            res = await run_bench(
                target,
                spec,
                round_=r,
                api_key=api_key,
                progress=progress,
                transport=transport,
            )
            results.append(RoundResult(round=r, target=target.name, runs=res.runs))
            if after_turn is not None:
                await after_turn(r, target)
    return SideBySideResult(
        created_at=created,
        spec=spec,
        targets=list(targets),
        baseline=baseline,
        order=order,
        rounds=results,
        summary=summarize_rounds(results, names, baseline),
    )
