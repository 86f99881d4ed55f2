"""A few plain-text lines of a result, for the terminal."""

from __future__ import annotations

from gemma_serve.bench.results import BenchResult, ParityResult, SideBySideResult


def brief_text(result: BenchResult | SideBySideResult | ParityResult) -> str:
    """The headline numbers: per load step, or the ratios of a comparison."""
    if isinstance(result, BenchResult):
        lines = [
            f"{'load':<22}{'ok':>6}{'fail':>6}{'out tok/s':>11}{'TTFT p50':>10}"
            f"{'TTFT p99':>10}{'ITL p50':>9}"
        ]
        for run in result.runs:
            m = run.metrics
            ttft50 = f"{m.ttft_ms.median:.1f}" if m.ttft_ms else "-"
            ttft99 = f"{m.ttft_ms.p99:.1f}" if m.ttft_ms else "-"
            itl = f"{m.itl_ms.median:.1f}" if m.itl_ms else "-"
            lines.append(
                f"{run.label:<22}{m.completed:>6}{m.failed:>6}"
                f"{m.output_throughput:>11.1f}{ttft50:>10}{ttft99:>10}{itl:>9}"
            )
        return "\n".join(lines)
    if isinstance(result, SideBySideResult):
        lines = [
            f"{'load':<22}{'target':<16}{'tok/s x':>9}{'TTFT50 x':>10}{'TTFT99 x':>10}"
            f"{'ITL50 x':>9}"
        ]
        for r in result.summary:
            cells = [r.throughput_ratio, r.ttft_p50_ratio, r.ttft_p99_ratio, r.itl_p50_ratio]
            shown = ["-" if c is None else f"{c:.2f}" for c in cells]
            lines.append(
                f"{r.label:<22}{r.target:<16}{shown[0]:>9}{shown[1]:>10}{shown[2]:>10}{shown[3]:>9}"
            )
        return "\n".join(lines)
    verdict = "within" if result.within_tolerance else "OUTSIDE"
    return (
        f"ours/vLLM: TTFT p50 {result.ttft_p50_ratio:.3f}, TTFT mean "
        f"{result.ttft_mean_ratio:.3f}, output tok/s {result.output_throughput_ratio:.3f} "
        f"({verdict} {result.tolerance:.0%})"
    )
