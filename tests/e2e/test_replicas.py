"""One model on two replicas behind the gateway: both take traffic.

Its own stack, started after the multi-model one stops (three engines at once
do not fit 24 GiB with the CUDA build of torch that the image path needs).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
PAIR = "gemma-3-270m-pair"
#: Prompts with no common prefix: the prefix-aware router spreads them by load.
WORDS = [
    "Apples",
    "Bridges",
    "Clouds",
    "Deserts",
    "Engines",
    "Forests",
    "Glaciers",
    "Harbors",
    "Islands",
    "Jungles",
    "Kettles",
    "Lanterns",
]


async def test_two_replicas_both_take_traffic(pair_stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=120, headers=pair_stack.headers) as client:

        async def arrive(i: int, word: str) -> httpx.Response:
            await asyncio.sleep(0.25 * i)  # arrivals over 3 s, each running for ~2 s
            body = {"model": PAIR, "prompt": f"{word} is", "max_tokens": 32, "ignore_eos": True}
            return await client.post(pair_stack.base_url + "/completions", json=body)

        responses = await asyncio.gather(*(arrive(i, w) for i, w in enumerate(WORDS)))
    assert all(r.status_code == 200 for r in responses)
    replicas = {r.headers["x-gemma-serve-replica"] for r in responses}
    assert len(replicas) == 2, replicas
