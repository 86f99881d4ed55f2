"""Every dashboard panel's and alert's PromQL is valid and returns data, scraped live.

A real Prometheus scrapes the real default stack (Ray Serve + vLLM) while a short
load runs; then each expression is evaluated through Prometheus' HTTP API.
"""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest

from gemma_serve.metrics.promcheck import PrometheusServer
from gemma_serve.metrics.promql import all_queries
from tests.stack import Stack

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus"),
]


async def _load(stack: Stack, seconds: float) -> None:
    """Streams, plain requests and a few errors, so every panel has something to show."""
    bodies = [
        {"model": "gemma-3-270m", "prompt": "Tell me a story", "max_tokens": 24, "stream": True},
        {"model": "gemma-3-270m", "prompt": "def f(x):", "max_tokens": 8},
        {"model": "gemma-3-270m", "prompt": "hi", "max_tokens": 0},  # 400
    ]
    async with httpx.AsyncClient(headers=stack.headers, timeout=120) as client:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await asyncio.gather(
                *(client.post(stack.base_url + "/completions", json=b) for b in bodies)
            )


async def test_every_dashboard_and_alert_query_returns_data(default_stack: Stack) -> None:
    target = default_stack.url.removeprefix("http://")
    async with PrometheusServer([target]) as prom:
        await prom.wait_until_up(within=60)
        await _load(default_stack, seconds=20)
        report = await prom.check(all_queries())
        assert report.ok, report.summary()
        assert await prom.rule_errors() == {}
    assert len(report.with_data) > 20
