"""The pure parts of the vLLM client check; the live check is in test_e2e_vllm.py."""

from __future__ import annotations

import math

import pytest

from gemma_serve.bench.loads import BurstLoad, ConcurrentLoad, ConstantLoad, PoissonLoad
from gemma_serve.bench.parity import _rate_args, records_from_vllm
from gemma_serve.bench.spec import BenchSpec
from gemma_serve.errors import ConfigError


def test_loads_map_to_vllm_rate_arguments() -> None:
    assert _rate_args(BenchSpec(loads=[ConcurrentLoad(concurrency=4)])) == {
        "request_rate": math.inf,
        "burstiness": 1.0,
        "max_concurrency": 4,
    }
    assert _rate_args(BenchSpec(loads=[PoissonLoad(rate=2, burstiness=0.5)])) == {
        "request_rate": 2,
        "burstiness": 0.5,
        "max_concurrency": None,
    }
    assert _rate_args(BenchSpec(loads=[ConstantLoad(rate=3)]))["burstiness"] == math.inf
    with pytest.raises(ConfigError, match="burst"):
        _rate_args(BenchSpec(loads=[BurstLoad(size=2, interval_s=1)]))
    with pytest.raises(ConfigError, match="exactly one"):
        _rate_args(BenchSpec(loads=[ConcurrentLoad(concurrency=1)] * 2))


def test_records_from_vllm_raw_lists() -> None:
    raw = {
        "start_times": [10.0, 10.5],
        "ttfts": [0.1, 0.0],
        "itls": [[0.01, 0.02], []],
        "latencies": [0.13, 0.0],
        "input_lens": [12, 12],
        "output_lens": [3, 0],
        "errors": ["", "Traceback...\nClientConnectorError"],
    }
    ok, bad = records_from_vllm(raw)
    assert ok.ok and ok.start_s == 0.0 and ok.itl_s == [0.01, 0.02] and ok.output_tokens == 3
    assert not bad.ok and bad.start_s == 0.5 and bad.error_kind == "vllm"
    assert bad.error is not None and bad.error.endswith("ClientConnectorError")


def test_ratios_pair_runs_of_the_same_round() -> None:
    from gemma_serve.bench.parity import paired_ratio

    # the machine slowed down in round 1 for both clients: pairing cancels it
    assert paired_ratio([100.0, 50.0, 99.0], [100.0, 50.0, 110.0]) == 1.0
    assert paired_ratio([90.0], [100.0]) == pytest.approx(0.9)
