"""Reports are derived from result JSON alone: render the committed fixtures."""

from __future__ import annotations

from pathlib import Path

from gemma_serve.bench.report import write_report
from gemma_serve.bench.report.markdown import bench_markdown, side_by_side_markdown
from gemma_serve.bench.report.text import brief_text
from gemma_serve.bench.results import BenchResult, SideBySideResult, load_result, save_result

FIXTURES = Path(__file__).parent / "fixtures"
PNG = b"\x89PNG\r\n\x1a\n"


def bench() -> BenchResult:
    result = load_result(FIXTURES / "bench_result.json")
    assert isinstance(result, BenchResult)
    return result


def test_fixture_metrics_are_what_the_records_give() -> None:
    m = bench().runs[0].metrics
    # 4 requests: TTFT 100..400 ms, 3 gaps of 20 ms, 4 tokens, 2 s wall time
    assert m.ttft_ms is not None and (m.ttft_ms.median, m.ttft_ms.p99) == (250.0, 397.0)
    assert m.output_throughput == 8.0 and m.request_goodput == 1.0  # SLO ttft <= 250 ms
    assert bench().runs[1].metrics.errors == {"503": 1}


def test_bench_markdown_has_every_table() -> None:
    md = bench_markdown(bench())
    assert md.startswith("# Benchmark: bare-vllm\n")
    for heading in (
        "## Throughput",
        "### TTFT (ms)",
        "### TPOT (ms)",
        "### ITL (ms)",
        "### E2EL (ms)",
        "## Errors",
    ):
        assert heading in md
    assert "| c=1 | 4 | 0 | 2.00 | 2.00 | 1.00 | 8.0 | 208.0 | 400 | 16 |" in md
    assert "| c=1 | 250.0 | 250.0 | 111.8 | 370.0 | 397.0 |" in md
    assert "| c=4 | 503 | 1 |" in md
    assert "{'ttft_ms': 250.0}" in md


def test_side_by_side_markdown_shows_ratios() -> None:
    result = load_result(FIXTURES / "side_by_side_result.json")
    assert isinstance(result, SideBySideResult)
    md = side_by_side_markdown(result)
    assert "ratios are to `bare-vllm`" in md
    # ratio of the medians, then the range of the per-round ratios
    assert "| c=1 | gemma-serve | 3 | 7.3 | 0.91x (0.83-1.00) | 275.0 | 1.10x (1.00-1.20) |" in md
    assert md.count("| 2 | gemma-serve |") == 2  # round 2, both load steps


def test_write_report_writes_markdown_and_pngs(tmp_path: Path) -> None:
    files = write_report(bench(), tmp_path)
    assert [f.name for f in files] == ["summary.md", "latency_vs_throughput.png", "percentiles.png"]
    for f in files[1:]:
        assert f.read_bytes()[:8] == PNG and f.stat().st_size > 10_000
    result = load_result(FIXTURES / "side_by_side_result.json")
    files = write_report(result, tmp_path / "sbs")
    assert [f.name for f in files] == ["summary.md", "side_by_side.png"]
    assert files[1].read_bytes()[:8] == PNG


def test_json_round_trip(tmp_path: Path) -> None:
    path = save_result(bench(), tmp_path / "r.json")
    assert load_result(path) == bench()


def test_brief_text() -> None:
    lines = brief_text(bench()).splitlines()
    assert lines[1].split() == ["c=1", "4", "0", "8.0", "250.0", "397.0", "20.0"]
