"""PNG plots, drawn from result models with matplotlib's object API (no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gemma_serve.bench.results import (
    BenchResult,
    ComparisonRow,
    Distribution,
    RunResult,
    SideBySideResult,
)

_METRICS = (("TTFT", "ttft_ms"), ("TPOT", "tpot_ms"), ("ITL", "itl_ms"), ("E2EL", "e2el_ms"))


def _dist(run: RunResult, attr: str) -> Distribution | None:
    d: Distribution | None = getattr(run.metrics, attr)
    return d


def _ratio_or_zero(row: ComparisonRow | None, attr: str) -> float:
    value = getattr(row, attr) if row is not None else None
    return float(value) if value is not None else 0.0


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def latency_vs_throughput(runs: Sequence[RunResult], title: str, path: Path) -> Path:
    """TTFT and E2EL percentiles against output throughput, one point per load step."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    x = [r.metrics.output_throughput for r in runs]
    for ax, (name, attr) in zip(axes, (("TTFT", "ttft_ms"), ("E2EL", "e2el_ms")), strict=True):
        for stat in ("median", "p99"):
            pts = [
                (xi, getattr(d, stat))
                for xi, r in zip(x, runs, strict=True)
                if (d := _dist(r, attr)) is not None
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=f"{name} {stat}")
        for xi, r in zip(x, runs, strict=True):
            d = _dist(r, attr)
            if d is not None:
                ax.annotate(
                    r.label, (xi, d.median), textcoords="offset points", xytext=(4, 4), fontsize=8
                )
        ax.set_xlabel("output throughput (tok/s)")
        ax.set_ylabel(f"{name} (ms)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def percentiles_by_load(runs: Sequence[RunResult], title: str, path: Path) -> Path:
    """Mean, p50, p90 and p99 of each latency metric across the load steps."""
    fig = Figure(figsize=(11, 8), layout="constrained")
    axes: Sequence[Axes] = fig.subplots(2, 2).ravel()
    pos = list(range(len(runs)))
    for ax, (name, attr) in zip(axes, _METRICS, strict=True):
        for stat in ("mean", "median", "p90", "p99"):
            pts = [
                (i, getattr(d, stat))
                for i, r in zip(pos, runs, strict=True)
                if (d := _dist(r, attr)) is not None
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=stat)
        ax.set_xticks(pos, [r.label for r in runs], rotation=30, ha="right")
        ax.set_title(f"{name} (ms)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def bench_plots(result: BenchResult, out_dir: Path) -> list[Path]:
    """Both plots of a single-target sweep."""
    title = f"{result.target.name} ({result.target.model})"
    return [
        latency_vs_throughput(result.runs, title, out_dir / "latency_vs_throughput.png"),
        percentiles_by_load(result.runs, title, out_dir / "percentiles.png"),
    ]


def side_by_side_plots(result: SideBySideResult, out_dir: Path) -> list[Path]:
    """TTFT p50 against throughput per target, and the ratios to the baseline."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax_lat, ax_ratio = fig.subplots(1, 2)
    labels = list(dict.fromkeys(r.label for r in result.summary))
    for target in result.targets:
        rows = [r for r in result.summary if r.target == target.name]
        pts = [
            (r.output_throughput, r.ttft_p50_ms)
            for r in rows
            if r.output_throughput is not None and r.ttft_p50_ms is not None
        ]
        if pts:
            ax_lat.plot(*zip(*pts, strict=True), marker="o", label=target.name)
    ax_lat.set_xlabel("output throughput (tok/s, median over rounds)")
    ax_lat.set_ylabel("TTFT p50 (ms, median over rounds)")
    ax_lat.grid(alpha=0.3)
    ax_lat.legend()
    others = [t for t in result.targets if t.name != result.baseline]
    width = 0.8 / max(1, len(others) * 2)
    for k, target in enumerate(others):
        by_label = {r.label: r for r in result.summary if r.target == target.name}
        for j, (attr, kind) in enumerate(
            (("throughput_ratio", "tok/s"), ("ttft_p50_ratio", "TTFT p50"))
        ):
            xs = [i + (2 * k + j) * width for i in range(len(labels))]
            ys = [_ratio_or_zero(by_label.get(lb), attr) for lb in labels]
            ax_ratio.bar(xs, ys, width=width, label=f"{target.name} {kind}")
    ax_ratio.axhline(1.0, color="black", linewidth=0.8)
    ax_ratio.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels)
    ax_ratio.set_ylabel(f"ratio to {result.baseline}")
    ax_ratio.legend(fontsize=8)
    fig.suptitle("side by side")
    return [_save(fig, out_dir / "side_by_side.png")]
