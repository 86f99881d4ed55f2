"""Every dashboard panel's and alert's series is produced by the running stack, under load.

A real Prometheus scrapes the stack's one scrape target (the Ray node's metrics
agent) while a load runs that must move every series a panel or alert
queries: streamed and plain completions (TTFT, inter-token, end-to-end,
tokens, prefix-cache hits), a queue in the engine (long prompts), one refusal
of each reason (no API key, an oversize body, an overload burst against the
admission limit) and client errors. Each queried counter and histogram must
have grown between a scrape before the load and one after it; each gauge must
have read above zero during the load: a series that merely exists fails.
Then every expression must parse and return data.

Not movable here, and why (`EXEMPT`): preemptions (vLLM preempts only with a
full KV cache; this 270M's 55K-token cache cannot be filled by a short test;
the name is checked against the installed vLLM by test_vllm_metric_names.py,
the alert by promtool) and images (the default stack is text-only: images are
checked on the tiny image stack below), and the LoRA adapter series (the default
stack has no adapters: tests/e2e/test_adapters.py moves them on the LoRA stack).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from gemma_serve.metrics import names as v
from gemma_serve.metrics.edge import (
    ADAPTER_EVICTIONS,
    ADAPTER_LOADS,
    ADAPTERS_LOADED,
    IMAGES,
    REJECT_REASONS,
)
from tests.conftest import DEFAULT_ADMISSION
from tests.metrics.prom.movement import compare, queried_series, snapshot
from tests.metrics.prom.promcheck import PrometheusServer
from tests.metrics.prom.promql import PromQuery, all_queries, metric_names
from tests.stack import METRICS_LAG_S, Stack, prefill_repeats

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus"),
]
MODEL = "gemma-3-270m"
EXEMPT = {
    v.NUM_PREEMPTIONS: "vLLM preempts only when the KV cache is full (55K tokens here)",
    IMAGES.exported: "the default stack is text-only; see test_images_move_on_the_image_stack",
    **{
        spec.exported: "the default stack serves no LoRA adapters; tests/e2e/test_adapters.py "
        "moves them on the LoRA stack"
        for spec in (ADAPTER_LOADS, ADAPTER_EVICTIONS, ADAPTERS_LOADED)
    },
}
#: Series checked per label value, not only in sum.
SPLITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ray_gemma_serve_requests_rejected_total": ("reason", REJECT_REASONS),
    "ray_gemma_serve_requests_total": ("status", ("200", "400", "401", "413", "503")),
    "ray_gemma_serve_request_errors_total": (
        "error_type",
        ("bad_request", "unauthorized", "too_large", "unavailable"),
    ),
}
#: Shared by two requests: over one KV block (128 tokens), so the second hits the cache.
SHARED = "The quick brown fox jumps over the lazy dog near the river bank. " * 24


#: (JSON body, extra headers, raw body instead of the JSON)
_OneOff = tuple[dict[str, Any], dict[str, str] | None, bytes | None]


SENTENCE = "Count the apples and the pears in the basket, one by one. "


def _long_prompt(i: int, repeats: int) -> str:
    """`repeats` x ~12 tokens (>= ~900, ~1.5 s of this host's prefill: `prefill_repeats`),
    unique from the first token, so six builders keep requests waiting."""
    return f"{i} " + SENTENCE * repeats


async def _status(request: Awaitable[httpx.Response]) -> int:
    return (await request).status_code


async def drive_load(stack: Stack, seconds: float) -> dict[int, int]:
    """Everything a panel shows; returns how many answers of each status were seen."""
    seen: dict[int, int] = {}
    auth, url = stack.headers, stack.base_url + "/completions"
    repeats = await asyncio.to_thread(prefill_repeats, stack, MODEL, SENTENCE)
    async with httpx.AsyncClient(headers=auth, timeout=300) as client:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds

        async def queue_builder(worker: int) -> None:  # waiting requests in the engine
            i = 0
            while loop.time() < end:
                body = {"model": MODEL, "prompt": _long_prompt(worker * 1000 + i, repeats),
                        "max_tokens": 4, "stream": i % 2 == 0}  # fmt: skip
                status = await _status(client.post(url, json=body))
                seen[status] = seen.get(status, 0) + 1
                i += 1

        async def one_offs() -> None:
            bodies: list[_OneOff] = [
                ({"model": MODEL, "prompt": SHARED, "max_tokens": 8}, None, None),
                ({"model": MODEL, "prompt": SHARED, "max_tokens": 8, "stream": True}, None, None),
                (
                    {"model": MODEL, "prompt": "Tell a story", "max_tokens": 24, "stream": True},
                    None,
                    None,
                ),
                ({"model": MODEL, "prompt": "hi", "max_tokens": 0}, None, None),  # 400
                ({"model": MODEL, "prompt": "hi"}, {"authorization": "Bearer wrong"}, None),  # 401
                ({}, None, b'{"model": "gemma-3-270m", "prompt": "' + b"a" * (33 << 20) + b'"}'),
            ]
            for body, headers, content in bodies:
                if content is not None:  # 413, over server.max_body_bytes (32 MiB)
                    request = client.post(url, content=content,
                                          headers={"content-type": "application/json"})  # fmt: skip
                else:
                    request = client.post(url, json=body, headers=headers)
                status = await _status(request)
                seen[status] = seen.get(status, 0) + 1
            await asyncio.sleep(seconds / 3)
            # The overload burst: far beyond the admission limit, while the builders run.
            short = {"model": MODEL, "prompt": "def f(x):", "max_tokens": 8}
            burst = await asyncio.gather(
                *(_status(client.post(url, json=short)) for _ in range(4 * DEFAULT_ADMISSION))
            )
            for status in burst:
                seen[status] = seen.get(status, 0) + 1

        # Builders leave two admission slots for the one-offs (a 413 needs a slot).
        await asyncio.gather(*(queue_builder(w) for w in range(DEFAULT_ADMISSION - 2)), one_offs())
    return seen


def _queries_without(names: set[str]) -> list[PromQuery]:
    return [q for q in all_queries() if not metric_names(q.expr) & names]


async def test_every_queried_series_moves_under_load_and_every_query_returns_data(
    default_stack: Stack,
) -> None:
    queried = queried_series(all_queries())
    async with PrometheusServer([default_stack.scrape_target]) as prom:
        await prom.wait_until_up(within=60)
        await asyncio.sleep(METRICS_LAG_S)  # the agent has the replica's start-up values
        before = await snapshot(prom, queried, SPLITS)
        loop = asyncio.get_running_loop()
        started = loop.time()
        seen = await drive_load(default_stack, seconds=20)
        # At once: an idle engine stops reporting and Ray drops its gauges 20 s later.
        report = await prom.check(_queries_without(set(EXEMPT)))
        await asyncio.sleep(METRICS_LAG_S)  # the last counter values reach the agent
        moved = await compare(prom, queried, before, splits=SPLITS, exempt=EXEMPT,
                              load_seconds=loop.time() - started)  # fmt: skip
        assert {200, 400, 401, 413, 503} <= set(seen), seen
        assert moved.ok, moved.summary()
        assert report.ok, report.summary()
        assert await prom.rule_errors() == {}
    assert len(report.with_data) > 40


async def test_images_move_on_the_image_stack(tiny_mm_stack: Stack) -> None:
    """The Images/s panel's series, on the stack that takes images (tiny Gemma 3 "4b")."""
    from tests.e2e.test_images import RAW_PROMPT, data_url, encode

    image = data_url(encode("PNG"))
    chat = {"model": "gemma-3-tiny-mm", "max_tokens": 4, "messages": [{"role": "user",
            "content": [{"type": "image_url", "image_url": {"url": image}},
                        {"type": "text", "text": "What is this?"}]}]}  # fmt: skip
    raw = {"model": "gemma-3-tiny-mm", "max_tokens": 4, "prompt": RAW_PROMPT, "images": [image]}
    names = {IMAGES.exported}
    async with PrometheusServer([tiny_mm_stack.scrape_target]) as prom:
        await prom.wait_until_up(within=60)
        before = await snapshot(prom, names, {})
        async with httpx.AsyncClient(timeout=120) as client:
            for body, path in ((chat, "/chat/completions"), (raw, "/completions")):
                r = await client.post(tiny_mm_stack.base_url + path, json=body)
                assert r.status_code == 200, r.text
        await asyncio.sleep(METRICS_LAG_S)
        moved = await compare(prom, names, before, splits={}, load_seconds=60)
        assert moved.ok, moved.summary()
        total = await prom.query(f'sum({IMAGES.exported}{{model="gemma-3-tiny-mm"}})')
        assert float(total[0]["value"][1]) - before.values[(IMAGES.exported, "")] == 2
        assert (await prom.check(dashboard_image_queries())).ok


def dashboard_image_queries() -> list[PromQuery]:
    return [q for q in all_queries() if IMAGES.exported in metric_names(q.expr)]
