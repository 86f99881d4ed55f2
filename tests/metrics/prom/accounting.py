"""Per-replica accounting: N requests spread over replicas are counted N times, in every scrape.

For any list of scrape targets (one Ray node locally, every pod's metrics port
on a cluster): after the requests, the sum over replicas of the requests
counted equals N in every scrape once the agents have the last values; each
replica that answered has its own series (label `ReplicaId`) counting exactly
the requests it answered; no counter ever goes backwards between scrapes.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.metrics.prom.promcheck import PrometheusServer

__all__ = ["ReplicaAccounting", "account"]

REQUESTS = "ray_gemma_serve_requests_total"
ENGINE_FINISHED = "ray_vllm_request_success_total"


@dataclass
class ReplicaAccounting:
    """What the scrapes showed, for assertions and for failure messages."""

    #: Total counted per scrape (Prometheus' 1 s samples) after the agents caught up.
    totals: list[float] = field(default_factory=list)
    #: Per replica (ReplicaId): requests the edge counted / the engine finished.
    counted: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    #: Counter resets Prometheus saw in any series of these counters over the run.
    resets: dict[str, float] = field(default_factory=dict)


async def _by_replica(prom: PrometheusServer, expr: str) -> dict[str, float]:
    return {r["metric"].get("ReplicaId", ""): float(r["value"][1]) for r in await prom.query(expr)}


async def account(
    prom: PrometheusServer,
    *,
    model: str,
    before: dict[str, float],
    expected: int,
    lag_s: float,
    hold_s: float = 8.0,
) -> ReplicaAccounting:
    """Wait (up to `lag_s`) until `expected` new requests are counted, then watch `hold_s`."""
    sel = f'{{model="{model}"}}'
    base = sum(before.values())
    deadline = time.monotonic() + lag_s
    while True:
        now = sum((await _by_replica(prom, f"sum by (ReplicaId) ({REQUESTS}{sel})")).values())
        if now - base >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    started = time.time()
    await asyncio.sleep(hold_s)
    seen = ReplicaAccounting()
    window = f"{int(time.time() - started)}s"
    series = await prom.query(f"sum({REQUESTS}{sel})[{window}:1s]")
    seen.totals = [float(v) - base for _, v in series[0]["values"]] if series else []
    counted = await _by_replica(prom, f"sum by (ReplicaId) ({REQUESTS}{sel})")
    seen.counted = {k: v - before.get(k, 0.0) for k, v in counted.items()}
    finished = await _by_replica(
        prom, f'sum by (ReplicaId) ({ENGINE_FINISHED}{{model_name="{model}"}})'
    )
    seen.finished = finished
    for name in (REQUESTS, ENGINE_FINISHED):
        results = await prom.query(f"sum(resets({name}[30m]))")
        seen.resets[name] = float(results[0]["value"][1]) if results else 0.0
    return seen


def replicas_of(responses: list[Any], header: str = "x-gemma-serve-replica") -> Counter[str]:
    """How many responses each replica answered, by the replica header the edge sets."""
    return Counter(r.headers[header] for r in responses)
