"""Reports derived from result JSON: Markdown summaries and PNG plots."""

from __future__ import annotations

from pathlib import Path

from gemma_serve.bench.report.markdown import (
    bench_markdown,
    parity_markdown,
    side_by_side_markdown,
)
from gemma_serve.bench.report.plots import bench_plots, side_by_side_plots
from gemma_serve.bench.results import BenchResult, ParityResult, SideBySideResult


def write_report(
    result: BenchResult | SideBySideResult | ParityResult, out_dir: Path, *, plots: bool = True
) -> list[Path]:
    """Write `summary.md` (and plots) for `result` into `out_dir`; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if isinstance(result, BenchResult):
        text = bench_markdown(result)
        if plots:
            written += bench_plots(result, out_dir)
    elif isinstance(result, SideBySideResult):
        text = side_by_side_markdown(result)
        if plots:
            written += side_by_side_plots(result, out_dir)
    else:
        text = parity_markdown(result)
    summary = out_dir / "summary.md"
    summary.write_text(text, encoding="utf-8")
    return [summary, *written]


__all__ = [
    "bench_markdown",
    "bench_plots",
    "parity_markdown",
    "side_by_side_markdown",
    "side_by_side_plots",
    "write_report",
]
