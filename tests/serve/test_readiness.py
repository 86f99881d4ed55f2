"""Replica counts for /health: read from Serve's status on demand, briefly cached (pure)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from gemma_serve.api.health import ReplicaCount
from gemma_serve.serve.readiness import ServeReadiness, counts_from_status, with_own_engine

APP = "gemma-serve"


def status(**deployments: dict[str, int]) -> Any:
    """A `serve.status()` answer with these replica states per deployment."""
    deps = {name: SimpleNamespace(replica_states=states) for name, states in deployments.items()}
    return SimpleNamespace(applications={APP: SimpleNamespace(deployments=deps)})


def test_ready_is_running_replicas_of_those_not_stopping() -> None:
    answer = status(**{
        "model-a": {"RUNNING": 1, "STARTING": 1, "STOPPING": 1},
        "model-b": {"PENDING_MIGRATION": 1, "RUNNING": 1},
    })  # fmt: skip
    counts = counts_from_status(answer, APP, {"a": "model-a", "b": "model-b", "c": "model-c"})
    assert counts == {
        "a": ReplicaCount(ready=1, replicas=2),
        "b": ReplicaCount(ready=2, replicas=2),
        "c": ReplicaCount(ready=0, replicas=0),  # not deployed (yet)
    }


def test_no_application_yet_is_nothing_ready() -> None:
    empty = SimpleNamespace(applications={})
    nothing = {"a": ReplicaCount(ready=0, replicas=0)}
    assert counts_from_status(empty, APP, {"a": "model-a"}) == nothing


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_probes_within_the_cache_window_share_one_controller_call() -> None:
    calls = []
    clock = Clock()

    def serve_status() -> Any:
        calls.append(clock.now)
        return status(**{"model-a": {"RUNNING": len(calls)}})

    readiness = ServeReadiness(app=APP, deployments={"a": "model-a"}, status=serve_status,
                               clock=clock, cache_s=1.0)  # fmt: skip
    together = await asyncio.gather(*(readiness() for _ in range(20)))
    assert len(calls) == 1 and all(c["a"].ready == 1 for c in together)
    clock.now += 0.5
    assert (await readiness())["a"].ready == 1 and len(calls) == 1
    clock.now += 0.6
    assert (await readiness())["a"].ready == 2 and len(calls) == 2


async def test_a_replica_whose_engine_died_does_not_count_itself() -> None:
    async def counts() -> dict[str, ReplicaCount]:
        return {"a": ReplicaCount(ready=1, replicas=1), "b": ReplicaCount(ready=1, replicas=1)}

    async def dead() -> bool:
        return False

    async def alive() -> bool:
        return True

    assert (await with_own_engine(counts, "a", dead)())["a"] == ReplicaCount(ready=0, replicas=1)
    assert (await with_own_engine(counts, "a", dead)())["b"].ready == 1
    assert (await with_own_engine(counts, "a", alive)())["a"].ready == 1
