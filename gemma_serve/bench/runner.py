"""The pipeline: dataset -> load schedule -> client -> aggregation, per load step.

Every step stops by itself: after its `num_requests` requests, or once
`max_seconds` have passed (no new sends; in-flight requests finish or time out
after `request_timeout_s`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np

from gemma_serve.bench.aggregate import compute_metrics
from gemma_serve.bench.client import OpenAIClient
from gemma_serve.bench.datasets import BenchRequest
from gemma_serve.bench.errors import BenchError
from gemma_serve.bench.loads import LoadBase
from gemma_serve.bench.progress import NoProgress, ProgressSink
from gemma_serve.bench.results import BenchResult, RequestRecord, RunResult
from gemma_serve.bench.spec import BenchSpec, Target

#: Sends request `i` of a step whose start is `t0` (perf_counter) and times it.
SendFn = Callable[[int, BenchRequest, float], Awaitable[RequestRecord]]


async def run_step(
    load: LoadBase,
    requests: Sequence[BenchRequest],
    send: SendFn,
    *,
    rng: np.random.Generator,
    max_seconds: float | None = None,
    progress: ProgressSink | None = None,
) -> tuple[list[RequestRecord], float]:
    """Drive `requests` with `load`'s schedule; returns records (by index) and wall time."""
    sink = progress or NoProgress()
    plan = load.schedule(len(requests), rng)
    records: list[RequestRecord] = []
    t0 = time.perf_counter()
    deadline = None if max_seconds is None else t0 + max_seconds

    async def one(i: int, req: BenchRequest) -> None:
        records.append(await send(i, req, t0))
        sink.advance()

    if plan.offsets is None:
        pending = iter(enumerate(requests))

        async def worker() -> None:
            for i, req in pending:
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                await one(i, req)

        workers = plan.concurrency or 1
        await asyncio.gather(*(worker() for _ in range(min(workers, len(requests)))))
    else:
        slots: AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(plan.concurrency) if plan.concurrency else nullcontext()
        )

        async def limited(i: int, req: BenchRequest) -> None:
            async with slots:
                await one(i, req)

        tasks = []
        for i, (req, offset) in enumerate(zip(requests, plan.offsets, strict=True)):
            if max_seconds is not None and offset >= max_seconds:
                break
            delay = t0 + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(limited(i, req)))
        await asyncio.gather(*tasks)
    duration = time.perf_counter() - t0
    records.sort(key=lambda r: r.index)
    return records, duration


def _client(
    target: Target, spec: BenchSpec, api_key: str | None, transport: httpx.AsyncBaseTransport | None
) -> OpenAIClient:
    return OpenAIClient(
        target,
        spec.resolved_api,
        ignore_eos=spec.ignore_eos,
        extra_body=spec.extra_body,
        timeout_s=spec.request_timeout_s,
        api_key=api_key,
        transport=transport,
    )


async def warm_up(client: OpenAIClient, spec: BenchSpec) -> None:
    """Send `warmup_requests` at once; raise if none succeeds (a wrong URL or model)."""
    if spec.warmup_requests == 0:
        return
    # Own entropy, distinct from every step's integer seed.
    warm_rng = np.random.default_rng([spec.seed, 0x5EED])
    reqs = spec.dataset.generate(spec.warmup_requests, warm_rng)
    t0 = time.perf_counter()
    recs = await asyncio.gather(*(client.send(i, r, t0) for i, r in enumerate(reqs)))
    if not any(r.ok for r in recs):
        first = recs[0]
        status = f"HTTP {first.status}: " if first.status else ""
        raise BenchError(f"warm-up against {client.target.base_url} failed: {status}{first.error}")


async def run_bench(
    target: Target,
    spec: BenchSpec,
    *,
    round_: int = 0,
    api_key: str | None = None,
    progress: ProgressSink | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> BenchResult:
    """Every load step of `spec` against `target`, one after another."""
    sink = progress or NoProgress()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    runs: list[RunResult] = []
    async with _client(target, spec, api_key, transport) as client:
        await warm_up(client, spec)
        try:
            for step, load in enumerate(spec.loads):
                seed = spec.step_seed(step, round_)
                rng = np.random.default_rng(seed)
                requests = spec.dataset.generate(spec.step_requests(step), rng)
                sink.start(f"{target.name} {load.label}", len(requests))
                records, duration = await run_step(
                    load,
                    requests,
                    client.send,
                    rng=rng,
                    max_seconds=spec.max_seconds,
                    progress=sink,
                )
                runs.append(
                    RunResult(
                        load=load,
                        label=load.label,
                        x_value=load.x_value,
                        seed=seed,
                        metrics=compute_metrics(records, duration, spec.slo),
                        records=records,
                    )
                )
        finally:
            sink.stop()
    return BenchResult(created_at=created, target=target, spec=spec, runs=runs)
