"""An in-memory stand-in for `ray.util.metrics`, for unit tests of the edge's bookkeeping.

It keeps Ray's contract where the edge code could break it: tag keys must be
exactly the declared ones, counters take positive increments only, histogram
boundaries are positive. What Ray's agent really exports is proven by the
tests that scrape a real metrics agent (test_ray_export.py, test_live_queries.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from typing import Any

Tags = frozenset[tuple[str, str]]


class _Metric:
    def __init__(self, store: Recorder, name: str, tag_keys: Any) -> None:
        self._store = store
        self.name = name
        self.tag_keys = tuple(tag_keys or ())
        if name in store.declared:
            raise ValueError(f"{name} declared twice")
        store.declared[name] = self

    def _key(self, tags: dict[str, str] | None) -> Tags:
        tags = tags or {}
        if set(tags) != set(self.tag_keys):
            raise ValueError(f"{self.name}: tags {sorted(tags)} != declared {self.tag_keys}")
        if not all(isinstance(v, str) for v in tags.values()):
            raise TypeError(f"{self.name}: tag values must be str")
        return frozenset(tags.items())


class _Counter(_Metric):
    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        if value <= 0:
            raise ValueError(f"value must be >0, got {value}")  # as ray.util.metrics
        self._store.values[self.name][self._key(tags)] += value


class _Gauge(_Metric):
    def set(self, value: float, tags: dict[str, str] | None = None) -> None:
        self._store.values[self.name][self._key(tags)] = value


class _Histogram(_Metric):
    def __init__(self, store: Recorder, name: str, boundaries: Any, tag_keys: Any) -> None:
        super().__init__(store, name, tag_keys)
        self.boundaries = list(boundaries)
        if not self.boundaries or any(b <= 0 for b in self.boundaries):
            raise ValueError("boundaries must be positive")

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        key = self._key(tags)
        self._store.observations[self.name][key].append(value)


class Recorder:
    """Has the constructors of `ray.util.metrics`; reads values back by name and tags."""

    def __init__(self) -> None:
        self.declared: dict[str, _Metric] = {}
        self.values: defaultdict[str, defaultdict[Tags, float]] = defaultdict(
            lambda: defaultdict(float)
        )
        self.observations: defaultdict[str, defaultdict[Tags, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def Counter(self, name: str, description: str = "", tag_keys: Any = None) -> _Counter:
        return _Counter(self, name, tag_keys)

    def Gauge(self, name: str, description: str = "", tag_keys: Any = None) -> _Gauge:
        return _Gauge(self, name, tag_keys)

    def Histogram(
        self, name: str, description: str = "", boundaries: Any = None, tag_keys: Any = None
    ) -> _Histogram:
        return _Histogram(self, name, boundaries, tag_keys)

    def value(self, name: str, **tags: str) -> float:
        """Sum of a counter's or gauge's series whose tags include `tags`."""
        wanted = set(tags.items())
        return sum(v for k, v in self.values[name].items() if wanted <= k)

    def observed(self, name: str, **tags: str) -> list[float]:
        wanted = set(tags.items())
        return [x for k, xs in self.observations[name].items() if wanted <= k for x in xs]

    def bucket(self, name: str, le: float, **tags: str) -> int:
        """Observations <= le (a histogram bucket's cumulative count)."""
        histogram = self.declared[name]
        assert isinstance(histogram, _Histogram) and le in histogram.boundaries
        bounds = histogram.boundaries
        return sum(
            1 for x in self.observed(name, **tags) if bisect_left(bounds, x) <= bounds.index(le)
        )
