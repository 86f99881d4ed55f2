"""Soak: hundreds of mixed requests, and the stack's memory stays flat.

Every kind of traffic a server meets, interleaved at the admission limit:
plain and streamed completions, chat, bad requests (400), and clients that
leave mid-stream. After a warm-up (first batches, allocator and cache growth)
the resident memory of every stack process together must not keep growing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import DEFAULT_ADMISSION
from tests.stack import Stack, wait_running

pytestmark = pytest.mark.e2e
MODEL = "gemma-3-270m"
#: 260 requests take ~3 min here; a leak above ~330 KB per request shows in MAX_GROWTH_BYTES.
WARM_UP, SOAK = 60, 200
#: Growth allowed over the soak after warm-up. Measured here: ~16 MiB per 1000
#: requests, all in vLLM's engine worker and tapering (the replica stays flat).
MAX_GROWTH_BYTES = 64 << 20
#: Below the admission limit: a stream a client left may hold its slot a moment longer.
CONCURRENCY = DEFAULT_ADMISSION - 2


def _rss(stack: Stack) -> int:
    """Resident bytes of the serve process and everything it started (Ray, engine, HAProxy)."""
    procs = [psutil.Process(stack.process.pid), *psutil.Process(stack.process.pid).children(True)]
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kinds() -> itertools.cycle[str]:
    return itertools.cycle(["plain", "stream", "chat", "bad", "plain", "leave", "stream", "chat"])


async def _one(client: httpx.AsyncClient, url: str, kind: str, i: int) -> str:
    prompt = f"Request {i}: the number {i * 7919 % 1000} is"
    comp: dict[str, Any] = {"model": MODEL, "prompt": prompt, "max_tokens": 3}
    if kind == "plain":
        return str((await client.post(url + "/completions", json=comp)).status_code)
    if kind == "chat":
        msgs = [{"role": "user", "content": prompt}]
        body = {"model": MODEL, "messages": msgs, "max_tokens": 3}
        return str((await client.post(url + "/chat/completions", json=body)).status_code)
    if kind == "bad":
        return str((await client.post(url + "/completions", json={**comp, "top_p": 7})).status_code)
    streamed = {**comp, "stream": True, "max_tokens": 6 if kind == "leave" else 3}
    async with client.stream("POST", url + "/completions", json=streamed) as r:
        async for line in r.aiter_lines():
            if kind == "leave" and line.startswith("data: {"):
                return "left"  # closes the connection mid-stream
    return str(r.status_code)


async def _run(stack: Stack, count: int, start: int) -> Counter[str]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    sem = asyncio.Semaphore(CONCURRENCY)
    kinds = _kinds()

    async def bounded(i: int, kind: str) -> str:
        async with sem:
            return await _one(client, stack.base_url, kind, i)

    async with httpx.AsyncClient(headers=stack.headers, timeout=120, limits=limits) as client:
        tasks = [bounded(start + i, next(kinds)) for i in range(count)]
        return Counter(await asyncio.gather(*tasks))


async def test_hundreds_of_mixed_requests_leave_memory_flat(default_stack: Stack) -> None:
    await _run(default_stack, WARM_UP, 0)
    before = _rss(default_stack)
    outcomes = await _run(default_stack, SOAK, WARM_UP)
    after = _rss(default_stack)
    sent = Counter(itertools.islice(_kinds(), SOAK))
    bad, left = sent["bad"], sent["leave"]
    expected = {"200": SOAK - bad - left, "400": bad, "left": left}
    # A 503 would mean slots outlive their requests (clients stay below the limit).
    assert dict(outcomes) == expected, outcomes
    assert after - before < MAX_GROWTH_BYTES, (
        f"grew {(after - before) >> 20} MiB: {before=} {after=}"
    )
    # Aborted streams drain within a step or two; the metrics agent shows it within its lag.
    await asyncio.to_thread(wait_running, default_stack, 0)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(default_stack.url + "/health")).status_code == 200
