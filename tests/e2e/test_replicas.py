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


async def test_two_replicas_both_take_traffic(pair_stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        calls = [
            client.post(
                pair_stack.base_url + "/completions",
                json={"model": PAIR, "prompt": f"Story {i}", "max_tokens": 16, "ignore_eos": True},
            )
            for i in range(12)
        ]
        responses = await asyncio.gather(*calls)
    assert all(r.status_code == 200 for r in responses)
    replicas = {r.headers["x-gemma-serve-replica"] for r in responses}
    assert len(replicas) == 2, replicas
