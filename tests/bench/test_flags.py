from __future__ import annotations

from pathlib import Path

import pytest

from gemma_serve.bench import flags
from gemma_serve.bench.lengths import FixedLength, NormalLength, UniformLength
from gemma_serve.bench.loads import BurstLoad, ConcurrentLoad, ConstantLoad, PoissonLoad
from gemma_serve.errors import ConfigError


def test_lists() -> None:
    assert flags.int_list("--concurrency", "1,2, 4") == [1, 2, 4]
    assert flags.float_list("--rate", "0.5,2") == [0.5, 2.0]
    for bad in ("1,x", "0", ""):
        with pytest.raises(ConfigError, match="--concurrency"):
            flags.int_list("--concurrency", bad)
    with pytest.raises(ConfigError):
        flags.float_list("--rate", "-1")


def test_slo_like_vllm_goodput() -> None:
    slo = flags.slo("ttft:500,e2el:2000")
    assert (slo.ttft_ms, slo.tpot_ms, slo.e2el_ms) == (500, None, 2000)
    for bad in ("ttft=5", "foo:1", "tpot:x", "tpot:-1"):
        with pytest.raises(ConfigError):
            flags.slo(bad)


def test_lengths() -> None:
    assert flags.length("--input-len", 100, "fixed", None) == FixedLength(value=100)
    assert flags.length("--input-len", 100, "uniform", None) == UniformLength(low=50, high=150)
    assert flags.length("--input-len", 10, "uniform", 20) == UniformLength(low=1, high=30)
    assert flags.length("--input-len", 100, "normal", 5) == NormalLength(mean=100, std=5)
    with pytest.raises(ConfigError, match="--input-len"):
        flags.length("--input-len", -1, "fixed", None)


def test_loads_order_and_kinds() -> None:
    out = flags.loads([1, 4], [2.0], "poisson", 0.5, [(8, 5.0)], 16)
    assert out == [
        ConcurrentLoad(concurrency=1),
        ConcurrentLoad(concurrency=4),
        PoissonLoad(rate=2.0, burstiness=0.5, max_concurrency=16),
        BurstLoad(size=8, interval_s=5.0, max_concurrency=16),
    ]
    assert flags.loads([], [1.0], "constant", 1.0, [], None) == [ConstantLoad(rate=1.0)]
    with pytest.raises(ConfigError, match="--burst"):
        flags.loads([], [], "poisson", 1.0, [(0, 1.0)], None)


def test_misc_parsers() -> None:
    assert flags.named("--launch", "a=python -m x") == ("a", "python -m x")
    assert flags.size("224x160") == (224, 160)
    assert flags.bursts("8@5,2@0.5") == [(8, 5.0), (2, 0.5)]
    assert flags.json_object("--extra-body", '{"temperature": 0}') == {"temperature": 0}
    for fn, arg in ((flags.size, "224"), (flags.bursts, "8"), (flags.bursts, "x@1")):
        with pytest.raises(ConfigError):
            fn(arg)  # type: ignore[operator]
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        flags.named("--launch", "a")
    with pytest.raises(ConfigError, match="JSON object"):
        flags.json_object("--extra-body", "[1]")


def test_spec_file_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("loads:\n  - kind: concurrent\n    concurrency: 0\n")
    with pytest.raises(ConfigError) as err:
        flags.spec_file(path)
    assert "loads.0.concurrent.concurrency=0" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="cannot read"):
        flags.spec_file(tmp_path / "missing.yaml")
