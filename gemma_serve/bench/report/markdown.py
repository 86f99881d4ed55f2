"""Markdown summaries, rendered from result models only (never from live runs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gemma_serve.bench.results import (
    BenchResult,
    Distribution,
    ParityResult,
    RunMetrics,
    RunResult,
    SideBySideResult,
    Spread,
)
from gemma_serve.bench.spec import BenchSpec

_LATENCIES = (("TTFT", "ttft_ms"), ("TPOT", "tpot_ms"), ("ITL", "itl_ms"), ("E2EL", "e2el_ms"))


def _num(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _ratio_rounds(v: float | None, rounds: Spread | None) -> str:
    """The ratio of medians, then the per-round ratios' min-max: `0.94x (0.89-0.99)`."""
    if v is None:
        return "-"
    if rounds is None or rounds.n < 2:
        return _ratio(v)
    return f"{v:.2f}x ({rounds.min:.2f}-{rounds.max:.2f})"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _requests_per_step(spec: BenchSpec) -> str:
    counts = [spec.step_requests(i) for i in range(len(spec.loads))]
    if len(set(counts)) == 1:
        return f"{counts[0]} requests per step"
    return "requests per step: " + ", ".join(
        f"{n} at {load.label}" for n, load in zip(counts, spec.loads, strict=True)
    )


def _spec_lines(spec: BenchSpec) -> list[str]:
    slo = spec.slo.model_dump(exclude_none=True)
    return [
        f"- API: `{spec.resolved_api}`; dataset: `{spec.dataset.model_dump_json()}`",
        f"- {_requests_per_step(spec)}"
        + (f", at most {spec.max_seconds:g} s" if spec.max_seconds else "")
        + f"; warm-up {spec.warmup_requests}; ignore_eos {spec.ignore_eos}; seed {spec.seed}",
        f"- SLOs (ms): {slo if slo else 'none'}",
    ]


def _throughput_table(runs: Sequence[RunResult]) -> list[str]:
    header = [
        "Load",
        "OK",
        "Failed",
        "Duration s",
        "Req/s",
        "Goodput req/s",
        "Output tok/s",
        "Total tok/s",
        "In tok",
        "Out tok",
    ]
    rows = []
    for run in runs:
        m = run.metrics
        rows.append(
            [
                run.label,
                str(m.completed),
                str(m.failed),
                _num(m.duration_s, 2),
                _num(m.request_throughput, 2),
                _num(m.request_goodput, 2),
                _num(m.output_throughput),
                _num(m.total_token_throughput),
                str(m.total_input_tokens),
                str(m.total_output_tokens),
            ]
        )
    return _table(header, rows)


def _latency_table(name: str, attr: str, runs: Sequence[RunResult]) -> list[str]:
    rows = []
    for run in runs:
        d: Distribution | None = getattr(run.metrics, attr)
        cells = [d.mean, d.median, d.std, d.p90, d.p99] if d else [None] * 5
        rows.append([run.label, *(_num(c) for c in cells)])
    return [f"### {name} (ms)", "", *_table(["Load", "Mean", "Median", "Std", "P90", "P99"], rows)]


def _errors(runs: Sequence[tuple[str, RunMetrics]]) -> list[str]:
    rows = [[label, key, str(n)] for label, m in runs for key, n in m.errors.items()]
    if not rows:
        return []
    return ["## Errors", "", *_table(["Load", "Status or kind", "Requests"], rows), ""]


def bench_markdown(result: BenchResult) -> str:
    """Summary of a sweep against one target."""
    t = result.target
    lines = [
        f"# Benchmark: {t.name}",
        "",
        f"- Endpoint: {t.base_url}, model `{t.model}`; started {result.created_at}",
        *_spec_lines(result.spec),
        "",
        "## Throughput",
        "",
        *_throughput_table(result.runs),
        "",
        "## Latency",
        "",
    ]
    for name, attr in _LATENCIES:
        lines += [*_latency_table(name, attr, result.runs), ""]
    lines += _errors([(r.label, r.metrics) for r in result.runs])
    return "\n".join(lines).rstrip() + "\n"


def side_by_side_markdown(result: SideBySideResult) -> str:
    """Medians over rounds and ratios to the first (baseline) target."""
    base = result.baseline
    rounds = max((r.round for r in result.rounds), default=-1) + 1
    lines = [
        f"# Side by side: {' vs '.join(t.name for t in result.targets)}",
        "",
        f"- Started {result.created_at}; {rounds} rounds, alternating "
        f"{', '.join(t.name for t in result.targets)}"
        + (" (reversed every other round)" if result.order == "mirror" else "")
        + f"; ratios are to `{base}`, with the per-round ratios' range in brackets",
    ]
    lines += [f"- `{t.name}`: {t.base_url}, model `{t.model}`" for t in result.targets]
    lines += [*_spec_lines(result.spec), "", "## Medians over rounds", ""]
    header = [
        "Load",
        "Target",
        "Rounds",
        "Output tok/s",
        "ratio",
        "TTFT p50 ms",
        "ratio",
        "TTFT p99 ms",
        "ratio",
        "ITL p50 ms",
        "ratio",
    ]
    rows = [
        [
            r.label,
            r.target,
            str(r.rounds),
            _num(r.output_throughput),
            _ratio_rounds(r.throughput_ratio, r.throughput_ratio_rounds),
            _num(r.ttft_p50_ms),
            _ratio_rounds(r.ttft_p50_ratio, r.ttft_p50_ratio_rounds),
            _num(r.ttft_p99_ms),
            _ratio_rounds(r.ttft_p99_ratio, r.ttft_p99_ratio_rounds),
            _num(r.itl_p50_ms),
            _ratio_rounds(r.itl_p50_ratio, r.itl_p50_ratio_rounds),
        ]
        for r in result.summary
    ]
    lines += [*_table(header, rows), "", "## Every round", ""]
    header = [
        "Round",
        "Target",
        "Load",
        "OK",
        "Failed",
        "Output tok/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "ITL p50 ms",
    ]
    rows = []
    for rnd in result.rounds:
        for run in rnd.runs:
            m = run.metrics
            rows.append(
                [
                    str(rnd.round),
                    rnd.target,
                    run.label,
                    str(m.completed),
                    str(m.failed),
                    _num(m.output_throughput),
                    _num(m.ttft_ms.median if m.ttft_ms else None),
                    _num(m.ttft_ms.p99 if m.ttft_ms else None),
                    _num(m.itl_ms.median if m.itl_ms else None),
                ]
            )
    lines += [*_table(header, rows), ""]
    lines += _errors(
        [
            (f"{r.target} r{r.round} {run.label}", run.metrics)
            for r in result.rounds
            for run in r.runs
        ]
    )
    return "\n".join(lines).rstrip() + "\n"


def parity_markdown(result: ParityResult) -> str:
    """Our client against vLLM's benchmark client on the same endpoint."""
    t = result.target
    verdict = "within" if result.within_tolerance else "OUTSIDE"
    lines = [
        "# Client parity: gemma-serve bench vs vllm bench serve",
        "",
        f"- Endpoint: {t.base_url}, model `{t.model}`; started {result.created_at}",
        *_spec_lines(result.spec),
        f"- Verdict: {verdict} {result.tolerance:.0%} "
        f"(TTFT p50 {_ratio(result.ttft_p50_ratio)}, TTFT mean "
        f"{_ratio(result.ttft_mean_ratio)}, output tok/s "
        f"{_ratio(result.output_throughput_ratio)}; ours / vLLM's)",
        "",
    ]
    header = [
        "Client",
        "Run",
        "OK",
        "Failed",
        "Output tok/s",
        "TTFT mean ms",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "ITL p50 ms",
        "E2EL p50 ms",
    ]
    rows = []
    for who, runs in (("gemma-serve", result.ours), ("vllm", result.vllm)):
        for i, m in enumerate(runs):
            rows.append(
                [
                    who,
                    str(i),
                    str(m.completed),
                    str(m.failed),
                    _num(m.output_throughput),
                    _num(m.ttft_ms.mean if m.ttft_ms else None),
                    _num(m.ttft_ms.median if m.ttft_ms else None),
                    _num(m.ttft_ms.p99 if m.ttft_ms else None),
                    _num(m.itl_ms.median if m.itl_ms else None),
                    _num(m.e2el_ms.median if m.e2el_ms else None),
                ]
            )
    return "\n".join([*lines, *_table(header, rows)]) + "\n"
