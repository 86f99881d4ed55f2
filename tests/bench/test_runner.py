from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from gemma_serve.bench.datasets import BenchRequest, SyntheticText
from gemma_serve.bench.errors import BenchError
from gemma_serve.bench.lengths import FixedLength
from gemma_serve.bench.loads import BurstLoad, ConcurrentLoad, ConstantLoad, LoadBase
from gemma_serve.bench.results import RequestRecord
from gemma_serve.bench.runner import run_bench, run_step
from gemma_serve.bench.spec import BenchSpec, Target
from tests.bench.fake_openai import FakeOpenAI


class Sleeper:
    """A `send` that takes `service_s` and records when it started and the peak in flight."""

    def __init__(self, service_s: float) -> None:
        self.service_s = service_s
        self.starts: list[float] = []
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, i: int, req: BenchRequest, t0: float) -> RequestRecord:
        start = time.perf_counter() - t0
        self.starts.append(start)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(self.service_s)
        self.in_flight -= 1
        return RequestRecord(
            index=i, start_s=start, ttft_s=self.service_s, latency_s=self.service_s, output_tokens=1
        )


def reqs(n: int) -> list[BenchRequest]:
    return [BenchRequest(output_len=1, prompt=str(i)) for i in range(n)]


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


async def run(
    load: LoadBase, n: int, service_s: float, **kw: float
) -> tuple[Sleeper, list[RequestRecord], float]:
    send = Sleeper(service_s)
    records, duration = await run_step(load, reqs(n), send, rng=rng(), **kw)
    return send, records, duration


async def test_closed_loop_keeps_exactly_c_in_flight() -> None:
    send, records, duration = await run(ConcurrentLoad(concurrency=3), 9, 0.05)
    assert [r.index for r in records] == list(range(9))
    assert send.peak == 3
    assert 0.14 <= duration < 0.5  # three waves of 50 ms


async def test_closed_loop_stops_at_max_seconds() -> None:
    _, records, duration = await run(ConcurrentLoad(concurrency=1), 100, 0.05, max_seconds=0.12)
    assert 2 <= len(records) <= 4
    assert duration < 0.4


async def test_open_loop_follows_the_schedule() -> None:
    send, records, _ = await run(ConstantLoad(rate=20), 5, 0.01)
    assert len(records) == 5
    for i, s in enumerate(sorted(send.starts)):
        assert i * 0.05 - 0.001 <= s < i * 0.05 + 0.04


async def test_open_loop_time_bound_and_cap() -> None:
    send, records, _ = await run(
        BurstLoad(size=4, interval_s=0.1, max_concurrency=2), 12, 0.02, max_seconds=0.15
    )
    assert len(records) == 8  # bursts at 0 and 0.1 s; the one at 0.2 s is past the bound
    assert send.peak == 2


async def test_run_bench_end_to_end_on_a_fake_server() -> None:
    fake = FakeOpenAI(ttft_s=0.01, itl_s=0.002)
    spec = BenchSpec(
        dataset=SyntheticText(input_len=FixedLength(value=5), output_len=FixedLength(value=4)),
        loads=[ConcurrentLoad(concurrency=1), ConcurrentLoad(concurrency=4)],
        num_requests=8,
        warmup_requests=2,
    )
    res = await run_bench(
        Target(base_url="http://fake", model="m"), spec, transport=fake.transport()
    )
    assert len(fake.bodies) == 2 + 8 + 8
    assert [r.label for r in res.runs] == ["c=1", "c=4"]
    assert fake.peak == 4
    for run_ in res.runs:
        m = run_.metrics
        assert (m.completed, m.failed, m.total_output_tokens) == (8, 0, 32)
        assert m.itl_ms is not None and m.itl_ms.count == 8 * 3
    # each step draws its own prompts (a prefix cache cannot replay step 1)
    step1 = {b["prompt"] for b in fake.bodies[2:10]}
    step2 = {b["prompt"] for b in fake.bodies[10:]}
    assert not step1 & step2
    assert res.runs[0].seed != res.runs[1].seed


async def test_a_step_may_set_its_own_request_count() -> None:
    fake = FakeOpenAI(ttft_s=0.001, itl_s=0.001)
    spec = BenchSpec(
        dataset=SyntheticText(input_len=FixedLength(value=3), output_len=FixedLength(value=2)),
        loads=[ConcurrentLoad(concurrency=1, num_requests=3), ConcurrentLoad(concurrency=4)],
        num_requests=8,
        warmup_requests=0,
    )
    res = await run_bench(
        Target(base_url="http://fake", model="m"), spec, transport=fake.transport()
    )
    assert [r.metrics.completed for r in res.runs] == [3, 8]
    assert len(fake.bodies) == 3 + 8


async def test_failed_warm_up_stops_the_run() -> None:
    fake = FakeOpenAI(status=404)
    with pytest.raises(BenchError, match="HTTP 404: overloaded"):
        await run_bench(
            Target(base_url="http://fake", model="m"), BenchSpec(), transport=fake.transport()
        )
    assert len(fake.bodies) == 2


async def test_rich_progress_draws_one_task_per_step() -> None:
    import io

    from rich.console import Console

    from gemma_serve.bench.progress import RichProgress

    buf = io.StringIO()
    bar = RichProgress(Console(file=buf, force_terminal=True, width=100))
    for step in ("c=1", "c=4"):
        await run_step(
            ConcurrentLoad(concurrency=2),
            reqs(4),
            Sleeper(0.001),
            rng=rng(),
            progress=_started(bar, step),
        )
    bar.stop()
    text = buf.getvalue()
    assert "c=1" in text and "c=4" in text and "4/4" in text


def _started(bar, label):  # type: ignore[no-untyped-def]
    bar.start(label, 4)
    return bar
