"""Two replicas, one scrape target: every replica seen, every request counted once, no resets.

Against the pair stack (one model on two replicas behind the gateway), a real
Prometheus scrapes the one documented target, `gemma-serve serve`'s metrics
port (the Ray node's metrics agent). Through HAProxy, a scrape of the API
answered from one replica at random (24, 24, 24, 0, 24, 24 finished requests:
counter resets to Prometheus); here both replicas' series are present, told
apart by `ReplicaId`, and their sum is N in every scrape. The checks take any
list of targets (tests/metrics/prom/accounting.py), for the multi-node cluster.
"""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest

from tests.metrics.prom.accounting import REQUESTS, account, replicas_of
from tests.metrics.prom.promcheck import PrometheusServer
from tests.stack import METRICS_LAG_S, Stack

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus"),
]
PAIR = "gemma-3-270m-pair"
N = 24
#: Prompts with no common prefix: the prefix-aware router spreads them by load.
WORDS = ["Apples", "Bridges", "Clouds", "Deserts", "Engines", "Forests", "Glaciers", "Harbors",
         "Islands", "Jungles", "Kettles", "Lanterns"]  # fmt: skip


async def send_spread(
    base_url: str, n: int, headers: dict[str, str] | None = None, model: str = PAIR
) -> list[httpx.Response]:
    """`n` completions arriving over a few seconds, each long enough to overlap the next."""
    async with httpx.AsyncClient(timeout=180, headers=headers) as client:

        async def arrive(i: int) -> httpx.Response:
            await asyncio.sleep(0.25 * i)
            body = {"model": model, "prompt": f"{WORDS[i % len(WORDS)]} number {i} is",
                    "max_tokens": 24, "ignore_eos": True, "stream": i % 2 == 1}  # fmt: skip
            response = await client.post(base_url + "/completions", json=body)
            await response.aread()
            return response

        return await asyncio.gather(*(arrive(i) for i in range(n)))


async def check_every_request_counted_once(
    targets: list[str], base_url: str, headers: dict[str, str] | None = None, model: str = PAIR
) -> None:
    async with PrometheusServer(targets) as prom:
        await prom.wait_until_up(within=60)
        await asyncio.sleep(METRICS_LAG_S)
        query = f'sum by (ReplicaId) ({REQUESTS}{{model="{model}"}})'
        before = {r["metric"].get("ReplicaId", ""): float(r["value"][1])
                  for r in await prom.query(query)}  # fmt: skip
        responses = await send_spread(base_url, N, headers, model)
        assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses]
        answered = replicas_of(responses)
        assert len(answered) == 2, answered  # both replicas took traffic
        seen = await account(prom, model=model, before=before, expected=N, lag_s=METRICS_LAG_S + 15)
    assert seen.totals and all(t == N for t in seen.totals), seen.totals  # every scrape
    assert {k for k, v in seen.counted.items() if v} == set(answered), seen.counted
    for replica, count in answered.items():  # each replica counted what it answered
        assert seen.counted[replica] == count, (replica, seen.counted, answered)
    assert set(seen.finished) == set(answered), seen.finished  # vLLM's series, per replica
    assert sum(seen.finished.values()) >= N
    assert seen.resets == {REQUESTS: 0.0, "ray_vllm_request_success_total": 0.0}, seen.resets


async def test_two_replicas_counted_at_the_one_target(pair_stack: Stack) -> None:
    await check_every_request_counted_once(
        [pair_stack.scrape_target], pair_stack.base_url, pair_stack.headers
    )


def test_the_api_answers_metrics_with_a_404_naming_the_target(pair_stack: Stack) -> None:
    r = httpx.get(pair_stack.url + "/metrics", timeout=10)
    assert r.status_code == 404
    assert "metrics export port" in r.json()["error"]["message"]
