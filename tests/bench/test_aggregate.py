"""Metric aggregation against hand-computed values (`vllm bench serve` definitions)."""

from __future__ import annotations

import math

import pytest

from gemma_serve.bench.aggregate import compute_metrics, summarize_ms, tpot_s
from gemma_serve.bench.results import RequestRecord
from gemma_serve.bench.spec import Slo


def records() -> list[RequestRecord]:
    return [
        RequestRecord(
            index=0,
            start_s=0.0,
            ttft_s=0.1,
            itl_s=[0.02, 0.03, 0.05],
            latency_s=0.2,
            prompt_tokens=10,
            output_tokens=4,
            status=200,
        ),
        RequestRecord(
            index=1,
            start_s=0.1,
            ttft_s=0.3,
            itl_s=[0.1],
            latency_s=0.4,
            prompt_tokens=20,
            output_tokens=2,
            status=200,
        ),
        RequestRecord(
            index=2,
            start_s=0.2,
            ttft_s=0.2,
            latency_s=0.2,
            prompt_tokens=5,
            output_tokens=1,
            status=200,
        ),
        RequestRecord(index=3, start_s=0.3, status=503, error_kind="http", error="overloaded"),
        RequestRecord(index=4, start_s=0.4, error_kind="timeout", error="slow"),
    ]


def test_counts_and_throughputs() -> None:
    m = compute_metrics(records(), 2.0, Slo())
    assert (m.completed, m.failed) == (3, 2)
    assert (m.total_input_tokens, m.total_output_tokens) == (35, 7)
    assert m.request_throughput == pytest.approx(1.5)
    assert m.output_throughput == pytest.approx(3.5)
    assert m.total_token_throughput == pytest.approx(21.0)
    assert m.request_goodput is None
    assert m.errors == {"503": 1, "timeout": 1}


def test_ttft_distribution() -> None:
    d = compute_metrics(records(), 2.0, Slo()).ttft_ms
    assert d is not None and d.count == 3
    assert d.mean == pytest.approx(200.0)
    assert d.median == pytest.approx(200.0)
    assert d.std == pytest.approx(math.sqrt(20000 / 3))
    assert d.p90 == pytest.approx(280.0)  # linear: 200 + 0.8 * 100
    assert d.p99 == pytest.approx(298.0)
    assert (d.min, d.max) == pytest.approx((100.0, 300.0))


def test_itl_pools_every_gap() -> None:
    d = compute_metrics(records(), 2.0, Slo()).itl_ms
    assert d is not None and d.count == 4
    assert (d.mean, d.median, d.p90, d.p99) == pytest.approx((50.0, 40.0, 85.0, 98.5))


def test_tpot_skips_single_token_outputs() -> None:
    d = compute_metrics(records(), 2.0, Slo()).tpot_ms
    assert d is not None and d.count == 2
    assert d.mean == pytest.approx((100 / 3 + 100) / 2)
    assert tpot_s(records()[0]) == pytest.approx(0.1 / 3)
    assert tpot_s(records()[2]) is None


def test_e2el() -> None:
    d = compute_metrics(records(), 2.0, Slo()).e2el_ms
    assert d is not None
    assert (d.mean, d.median) == pytest.approx((800 / 3, 200.0))


@pytest.mark.parametrize(
    ("slo", "good"),
    [
        (Slo(ttft_ms=250), 2),  # r1's 300 ms misses
        (Slo(tpot_ms=50), 2),  # r1's 100 ms misses; r2 (one token) counts as 0
        (Slo(ttft_ms=250, e2el_ms=150), 0),
        (Slo(e2el_ms=400), 3),  # bounds are inclusive
    ],
)
def test_goodput(slo: Slo, good: int) -> None:
    assert compute_metrics(records(), 2.0, slo).request_goodput == pytest.approx(good / 2.0)


def test_output_tokens_fall_back_to_chunks_without_usage() -> None:
    rec = RequestRecord(index=0, start_s=0, ttft_s=0.1, itl_s=[0.1, 0.1], latency_s=0.3)
    m = compute_metrics([rec], 1.0, Slo())
    assert m.total_output_tokens == 3
    assert m.tpot_ms is not None and m.tpot_ms.mean == pytest.approx(100.0)


def test_all_failed_gives_no_distributions() -> None:
    m = compute_metrics(records()[3:], 1.0, Slo())
    assert m.completed == 0 and m.ttft_ms is None and m.output_throughput == 0
    assert summarize_ms([]) is None


def test_duration_must_be_positive() -> None:
    with pytest.raises(ValueError):
        compute_metrics(records(), 0.0, Slo())
