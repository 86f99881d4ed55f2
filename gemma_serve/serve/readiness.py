"""Ready replicas per model, as the Serve controller sees them: what `/health` reports.

Asked on demand, when a probe arrives, and kept for about a second so a burst
of probes is one controller call; never polled in the background. Which
replica is healthy is decided elsewhere: each replica's `check_health` (its
engine's health) makes Ray Serve stop and replace it; this only reads the
outcome, so every replica and the gateway answer `/health` the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gemma_serve.api.health import Readiness, ReplicaCount

#: Replica states that serve traffic (a replica on a draining node still does).
_READY = frozenset({"RUNNING", "PENDING_MIGRATION"})
#: States of replicas that are gone or going.
_GONE = frozenset({"STOPPING", "STOPPED"})
CACHE_S = 1.0


def counts_from_status(
    status: Any, app: str, deployments: Mapping[str, str]
) -> dict[str, ReplicaCount]:
    """Per model, from a `serve.status()` answer: replicas ready, and replicas there."""
    application = status.applications.get(app)
    counts = {}
    for model, deployment in deployments.items():
        found = application.deployments.get(deployment) if application is not None else None
        states: dict[str, int] = dict(found.replica_states) if found is not None else {}
        counts[model] = ReplicaCount(
            ready=sum(n for s, n in states.items() if s in _READY),
            replicas=sum(n for s, n in states.items() if s not in _GONE),
        )
    return counts


class ServeReadiness:
    """The controller's replica counts for `deployments` (model -> deployment) of `app`."""

    def __init__(
        self,
        *,
        app: str,
        deployments: Mapping[str, str],
        cache_s: float = CACHE_S,
        status: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._deployments = dict(deployments)
        self._cache_s = cache_s
        self._status = status or _serve_status
        self._clock = clock
        self._lock = asyncio.Lock()
        self._counts: dict[str, ReplicaCount] | None = None
        self._at = 0.0

    async def __call__(self) -> dict[str, ReplicaCount]:
        async with self._lock:  # probes arriving together share one controller call
            if self._counts is None or self._clock() - self._at >= self._cache_s:
                status = await asyncio.to_thread(self._status)
                self._counts = counts_from_status(status, self._app, self._deployments)
                self._at = self._clock()
            return self._counts


def with_own_engine(
    readiness: Readiness, model: str, engine_ok: Callable[[], Awaitable[bool]]
) -> Readiness:
    """`readiness`, minus this replica while its own engine is dead.

    Ray still counts the replica as running until its health check has failed
    (seconds); the replica knows at once, and says so on its own probes.
    """

    async def counts() -> dict[str, ReplicaCount]:
        result = dict(await readiness())
        current = result.get(model)
        if current is not None and current.ready and not await engine_ok():
            result[model] = ReplicaCount(ready=current.ready - 1, replicas=current.replicas)
        return result

    return counts


def _serve_status() -> Any:
    from ray import serve

    return serve.status()
