from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from gemma_serve.bench.loads import (
    BurstLoad,
    ConcurrentLoad,
    ConstantLoad,
    LoadSpec,
    PoissonLoad,
)


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_concurrent_is_closed_loop() -> None:
    plan = ConcurrentLoad(concurrency=4).schedule(10, rng())
    assert plan.offsets is None and plan.concurrency == 4
    assert ConcurrentLoad(concurrency=4).label == "c=4"


def test_constant_spacing() -> None:
    plan = ConstantLoad(rate=4).schedule(5, rng())
    assert plan.offsets == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert plan.concurrency is None


def test_poisson_is_normalised_to_the_rate_like_vllm() -> None:
    load = PoissonLoad(rate=2.0)
    offsets = load.schedule(1000, rng()).offsets
    assert offsets is not None
    assert offsets[-1] == pytest.approx(1000 / 2.0)
    gaps = np.diff([0.0, *offsets])
    assert (gaps >= 0).all()
    # exponential gaps: coefficient of variation near 1
    assert 0.9 < gaps.std() / gaps.mean() < 1.1
    assert load.schedule(10, rng()).offsets == load.schedule(10, rng()).offsets


def test_burstiness_below_one_is_burstier() -> None:
    even = np.diff(PoissonLoad(rate=1, burstiness=4).schedule(2000, rng()).offsets or [])
    bursty = np.diff(PoissonLoad(rate=1, burstiness=0.25).schedule(2000, rng()).offsets or [])
    assert bursty.std() > 2 * even.std()
    assert PoissonLoad(rate=1, burstiness=0.25).label == "poisson 1 rps b=0.25"


def test_bursts() -> None:
    load = BurstLoad(size=3, interval_s=2.0, max_concurrency=2)
    plan = load.schedule(7, rng())
    assert plan.offsets == [0, 0, 0, 2, 2, 2, 4]
    assert plan.concurrency == 2
    assert load.x_value == 1.5


def test_union_parses_by_kind() -> None:
    adapter: TypeAdapter[LoadSpec] = TypeAdapter(LoadSpec)
    assert isinstance(
        adapter.validate_python({"kind": "burst", "size": 2, "interval_s": 1}), BurstLoad
    )
    with pytest.raises(ValueError):
        adapter.validate_python({"kind": "poisson", "rate": 0})
