"""Did a load move every series the dashboards and alerts query?

"Returns data" is not enough: a series can exist and never change. For each
queried metric name, a counter (or a histogram's `_bucket`/`_count`/`_sum`)
must have grown between a snapshot taken before the load and one after; a
gauge must have read above zero at some scrape during the load. Some series
are checked per label value (e.g. rejections of each reason), and a few may be
exempted, each with the reason (e.g. preemptions need a full KV cache).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tests.metrics.prom.promcheck import PrometheusServer
from tests.metrics.prom.promql import PromQuery, metric_names

__all__ = ["MovementReport", "Snapshot", "is_cumulative", "queried_series", "snapshot"]

_CUMULATIVE = ("_total", "_bucket", "_count", "_sum")


def is_cumulative(name: str) -> bool:
    """Counters and histogram parts only grow; anything else is a gauge."""
    return name.endswith(_CUMULATIVE)


def queried_series(queries: Iterable[PromQuery]) -> set[str]:
    """Raw metric names the queries select (recording-rule outputs, `a:b:c`, excluded)."""
    return {n for q in queries for n in metric_names(q.expr) if ":" not in n}


#: name -> (label, values that must each move); the key `(name, value)` in a snapshot.
Splits = Mapping[str, tuple[str, Sequence[str]]]
Key = tuple[str, str]


@dataclass
class Snapshot:
    """Summed counter values per key; absent series read 0 (they have not happened yet)."""

    values: dict[Key, float] = field(default_factory=dict)


async def snapshot(prom: PrometheusServer, names: Iterable[str], splits: Splits) -> Snapshot:
    """`sum(name)` (or `sum by (label)`) of every cumulative name, as Prometheus has it now."""
    shot = Snapshot()
    for name in sorted(n for n in names if is_cumulative(n)):
        split = splits.get(name)
        if split is None:
            result = await prom.query(f"sum({name})")
            shot.values[(name, "")] = float(result[0]["value"][1]) if result else 0.0
            continue
        label, wanted = split
        found = {r["metric"].get(label, ""): float(r["value"][1])
                 for r in await prom.query(f"sum by ({label}) ({name})")}  # fmt: skip
        for value in wanted:
            shot.values[(name, value)] = found.get(value, 0.0)
    return shot


@dataclass
class MovementReport:
    """What the load failed to move."""

    unmoved: list[str] = field(default_factory=list)
    exempt: dict[str, str] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unmoved

    def summary(self) -> str:
        lines = [f"did not move: {u}" for u in self.unmoved]
        lines += [f"exempt: {name}: {why}" for name, why in self.exempt.items()]
        return "\n".join(lines) or "every queried series moved"


async def compare(
    prom: PrometheusServer,
    names: Iterable[str],
    before: Snapshot,
    *,
    splits: Splits,
    load_seconds: float,
    exempt: Mapping[str, str] = {},
) -> MovementReport:
    """Counters grew since `before`; gauges were above zero during the last `load_seconds`."""
    report = MovementReport(exempt={n: why for n, why in exempt.items() if n in set(names)})
    after = await snapshot(prom, names, splits)
    for key, value in sorted(after.values.items()):
        label = f"{key[0]}{{{splits[key[0]][0]}={key[1]!r}}}" if key[1] else key[0]
        if key[0] in exempt:
            continue
        grew = value > before.values.get(key, 0.0)
        (report.moved if grew else report.unmoved).append(
            label if grew else f"{label}: {before.values.get(key, 0.0)} -> {value}"
        )
    window = f"{max(int(load_seconds), 1)}s"
    for name in sorted(n for n in names if not is_cumulative(n)):
        if name in exempt:
            continue
        result = await prom.query(f"max_over_time(sum({name})[{window}:1s])")
        peak = float(result[0]["value"][1]) if result else 0.0
        if peak > 0:
            report.moved.append(name)
        else:
            report.unmoved.append(f"{name}: gauge never above 0 in the last {window}")
    return report
