from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from gemma_serve.bench.lengths import FixedLength, LengthDist, NormalLength, UniformLength


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_fixed_is_constant() -> None:
    assert FixedLength(value=64).sample(5, rng()) == [64] * 5
    assert FixedLength(value=64).upper == 64


def test_uniform_is_inclusive_and_covers_range() -> None:
    out = UniformLength(low=3, high=5).sample(2000, rng())
    assert set(out) == {3, 4, 5}


def test_uniform_rejects_inverted_bounds() -> None:
    with pytest.raises(ValidationError, match="low 5 > high 3"):
        UniformLength(low=5, high=3)


def test_normal_is_clipped_and_centred() -> None:
    dist = NormalLength(mean=100, std=50, minimum=10, maximum=150)
    out = np.array(dist.sample(5000, rng()))
    assert out.min() == 10 and out.max() == 150
    assert abs(np.median(out) - 100) <= 3
    assert NormalLength(mean=100, std=10).upper == 140


def test_same_seed_same_lengths() -> None:
    dist = NormalLength(mean=50, std=5)
    assert dist.sample(20, rng()) == dist.sample(20, rng())


def test_union_parses_by_kind() -> None:
    adapter: TypeAdapter[LengthDist] = TypeAdapter(LengthDist)
    assert isinstance(
        adapter.validate_python({"kind": "uniform", "low": 1, "high": 2}), UniformLength
    )
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "fixed", "value": 3, "typo": 1})
