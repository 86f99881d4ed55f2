"""Side by side: the same load against several targets, in alternating rounds.

Round r runs every target in the given order (A, B, A, B, ...) with the same
prompts (seeded by the round), so drift on a shared machine hits all targets
alike. The summary takes medians over rounds and divides by the baseline target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack, nullcontext
from datetime import UTC, datetime
from statistics import median
from typing import Literal

import httpx

from gemma_serve.bench.launch import Launcher
from gemma_serve.bench.progress import ProgressSink
from gemma_serve.bench.results import ComparisonRow, RoundResult, RunMetrics, SideBySideResult
from gemma_serve.bench.runner import run_bench
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.errors import ConfigError

Lifetime = Literal["turn", "session"]


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _row(label: str, target: str, metrics: list[RunMetrics]) -> ComparisonRow:
    return ComparisonRow(
        label=label,
        target=target,
        rounds=len(metrics),
        output_throughput=_median([m.output_throughput for m in metrics]),
        ttft_p50_ms=_median([m.ttft_ms.median if m.ttft_ms else None for m in metrics]),
        ttft_p99_ms=_median([m.ttft_ms.p99 if m.ttft_ms else None for m in metrics]),
        itl_p50_ms=_median([m.itl_ms.median if m.itl_ms else None for m in metrics]),
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
            rows.append(
                row.model_copy(
                    update={
                        "throughput_ratio": _ratio(row.output_throughput, base.output_throughput),
                        "ttft_p50_ratio": _ratio(row.ttft_p50_ms, base.ttft_p50_ms),
                        "ttft_p99_ratio": _ratio(row.ttft_p99_ms, base.ttft_p99_ms),
                        "itl_p50_ratio": _ratio(row.itl_p50_ms, base.itl_p50_ms),
                    }
                )
            )
    return rows


async def run_side_by_side(
    spec: BenchSpec,
    targets: Sequence[Target],
    *,
    rounds: int = 3,
    launchers: Mapping[str, Launcher] | None = None,
    lifetime: Lifetime = "turn",
    baseline: str | None = None,
    api_key: str | None = None,
    progress: ProgressSink | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SideBySideResult:
    """Run `spec` against every target, `rounds` times, alternating.

    `launchers` maps a target name to what starts its server: per turn
    (`lifetime="turn"`: only one server runs at a time) or once for the whole
    comparison (`"session"`). Ratios divide by `baseline` (default the first target).
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
        for r in range(rounds):
            for target in targets:
                launch = launchers.get(target.name) if lifetime == "turn" else None
                async with launch() if launch else nullcontext():
                    res = await run_bench(
                        target,
                        spec,
                        round_=r,
                        api_key=api_key,
                        progress=progress,
                        transport=transport,
                    )
                results.append(RoundResult(round=r, target=target.name, runs=res.runs))
    return SideBySideResult(
        created_at=created,
        spec=spec,
        targets=list(targets),
        baseline=baseline,
        rounds=results,
        summary=summarize_rounds(results, names, baseline),
    )
