"""A histogram collector without locks, for observations made once per streamed chunk.

prometheus_client's `Histogram.observe` takes two mutexes and scans its buckets
linearly. The inter-token histogram is fed for every SSE chunk on the serving
path, where that cost shows against bare vLLM. Here an observation is one
`bisect` and two in-place additions. It is safe because each child is updated
only from the event-loop thread that serves its requests; a scrape copies the
counts in one GIL-held step, so buckets and count always agree.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import accumulate, pairwise

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

__all__ = ["HistogramChild", "LockFreeHistogram"]


class HistogramChild:
    """The counts of one label set; `observe` is the per-chunk hot path."""

    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        #: Non-cumulative counts; the last slot is the +Inf bucket.
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation (`le` semantics: a value equal to a bound falls in it)."""
        self.counts[bisect_left(self._bounds, value)] += 1
        self.sum += value


class LockFreeHistogram(Collector):
    """A labelled classic histogram exposed through prometheus_client's registry."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        bounds = tuple(float(b) for b in buckets)
        if not bounds or any(not math.isfinite(b) for b in bounds):
            raise ValueError(f"{name}: buckets must be finite numbers (+Inf is implied)")
        if any(a >= b for a, b in pairwise(bounds)):
            raise ValueError(f"{name}: buckets must be strictly increasing")
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = bounds
        self._les = [floatToGoString(b) for b in bounds] + ["+Inf"]
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        """The child for these label values, created (and exported with zeros) on first use."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            child = self._children.setdefault(key, HistogramChild(self.bounds))
        return child

    def describe(self) -> Iterable[Metric]:
        """Lets the registry reject a second histogram with the same name."""
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, child in list(self._children.items()):
            counts = child.counts.copy()
            cumulative = list(accumulate(counts))
            family.add_metric(list(key), list(zip(self._les, cumulative, strict=True)), child.sum)
        yield family
