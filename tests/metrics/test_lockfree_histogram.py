"""LockFreeHistogram must expose exactly what prometheus_client's Histogram would."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from gemma_serve.metrics._histogram import LockFreeHistogram

BUCKETS = (0.01, 0.05, 0.1, 1.0)
VALUES = (0.0, 0.01, 0.0100001, 0.05, 0.07, 0.1, 0.5, 1.0, 1.5, 100.0, -1.0)


def samples(registry: CollectorRegistry) -> list[str]:
    return sorted(
        line
        for line in generate_latest(registry).decode().splitlines()
        if not line.startswith("#") and "_created" not in line
    )


def test_same_exposition_as_prometheus_client() -> None:
    ours, reference = CollectorRegistry(), CollectorRegistry()
    fast = LockFreeHistogram("x_seconds", "doc", ["model"], BUCKETS, ours)
    slow = Histogram("x_seconds", "doc", ["model"], buckets=BUCKETS, registry=reference)
    for model in ("a", "b"):
        fast.labels(model)
        slow.labels(model)
    for v in VALUES:
        fast.labels("a").observe(v)
        slow.labels("a").observe(v)
    assert samples(ours) == samples(reference)
    assert ours.get_sample_value("x_seconds_bucket", {"model": "a", "le": "0.01"}) == 3
    assert ours.get_sample_value("x_seconds_count", {"model": "b"}) == 0


def test_second_registration_is_refused() -> None:
    registry = CollectorRegistry()
    LockFreeHistogram("x_seconds", "doc", ["model"], BUCKETS, registry)
    with pytest.raises(ValueError, match="Duplicated"):
        Histogram("x_seconds", "doc", ["model"], registry=registry)


@pytest.mark.parametrize("buckets", [(), (1.0, 0.5), (0.1, 0.1), (0.1, float("inf"))])
def test_bad_buckets(buckets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        LockFreeHistogram("x_seconds", "doc", ["model"], buckets, CollectorRegistry())


def test_wrong_label_count() -> None:
    histogram = LockFreeHistogram("x_seconds", "doc", ["model"], BUCKETS, CollectorRegistry())
    with pytest.raises(ValueError):
        histogram.labels("a", "b")
