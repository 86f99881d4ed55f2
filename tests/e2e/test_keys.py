"""Named API keys on the real stacks: budgets (429 + OpenAI's headers), metrics per key
name, and priorities that reach vLLM's scheduler (tests/conftest.py KEY_FILE)."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.conftest import DEFAULT_ADMISSION, KEY_FILE
from tests.stack import METRICS_LAG_S, Stack

pytestmark = pytest.mark.e2e
KEYS = {k["name"]: str(k["key"]) for k in KEY_FILE}
LIMIT = 3  # team-limited's requests_per_minute


def _client(stack: Stack, name: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key=KEYS[name], max_retries=0)


def _over_budget_is_a_429_with_openais_headers(stack: Stack, model: str) -> None:
    client = _client(stack, "team-limited")
    for i in range(LIMIT):
        raw = client.completions.with_raw_response.create(model=model, prompt="hi", max_tokens=1)
        assert raw.headers["x-ratelimit-limit-requests"] == str(LIMIT)
        assert raw.headers["x-ratelimit-remaining-requests"] == str(LIMIT - 1 - i)
    with pytest.raises(openai.RateLimitError) as caught:
        client.completions.create(model=model, prompt="hi", max_tokens=1)
    r = caught.value.response
    assert r.json()["error"]["type"] == "rate_limit_exceeded"
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert r.headers["x-ratelimit-reset-requests"].endswith("s")
    # Other keys are not charged, and the server is fine.
    assert stack.openai().completions.create(model=model, prompt="hi", max_tokens=1).choices
    assert httpx.get(stack.url + "/health", timeout=10).status_code == 200


def _limited_count(stack: Stack) -> float:
    text = httpx.get(stack.metrics_url, timeout=10).text
    assert "limited-key-1" not in text  # names, never keys
    total = 0.0
    for line in text.splitlines():
        if line.startswith("ray_gemma_serve_key_requests_total{") and all(
            tag in line for tag in ('key="team-limited"', 'outcome="limited"')
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _await_limited_count(stack: Stack) -> None:
    deadline = time.monotonic() + METRICS_LAG_S + 10
    while _limited_count(stack) < 1:
        assert time.monotonic() < deadline, "no key_requests{outcome=limited} for team-limited"
        time.sleep(1)


def test_a_key_over_its_budget_gets_429s_on_the_ingress(default_stack: Stack) -> None:
    _over_budget_is_a_429_with_openais_headers(default_stack, "gemma-3-270m")
    _await_limited_count(default_stack)


def test_a_key_over_its_budget_gets_429s_through_the_gateway(multi_stack: Stack) -> None:
    _over_budget_is_a_429_with_openais_headers(multi_stack, "gemma-3-270m-a")
    _await_limited_count(multi_stack)


def _long_prompt(i: int) -> str:
    """~900 tokens, unique from the first (and unlike any other module's: a prefix-cache
    hit would skip the prefill that keeps requests waiting)."""
    return f"Key test {i}: " + "Weigh the plums and the figs on the scale, one at a time. " * 75


async def _ttft(client: httpx.AsyncClient, url: str, key: str, prompt: str) -> float:
    body = {"model": "gemma-3-270m", "prompt": prompt, "max_tokens": 1, "stream": True}
    start = time.monotonic()
    async with client.stream("POST", url, json=body,
                             headers={"authorization": f"Bearer {key}"}) as r:  # fmt: skip
        assert r.status_code == 200, await r.aread()
        async for line in r.aiter_lines():
            if line.startswith("data: {"):
                return time.monotonic() - start
    raise AssertionError("no token")


async def test_a_high_priority_key_jumps_the_engines_queue(default_stack: Stack) -> None:
    """A burst from team-batch (priority 10) fills ~3 of vLLM's 2,048-token steps; then a
    team-batch probe arrives, and after it a team-urgent (-10) one. First come, first
    served, the batch probe's first token would come first; by priority the urgent
    probe is scheduled ahead of every waiting batch prompt, the batch probe after the
    burst. The engine's scheduler decides (the default stack runs
    `--scheduling-policy priority`), so one burst shows it."""
    url = default_stack.base_url + "/completions"
    burst = DEFAULT_ADMISSION - 2  # the two probes take the last admission slots
    async with httpx.AsyncClient(timeout=300) as client:
        flood = [asyncio.create_task(_ttft(client, url, KEYS["team-batch"], _long_prompt(i)))
                 for i in range(burst)]  # fmt: skip
        await asyncio.sleep(2)  # the burst is in the engine, its first step running
        batch = asyncio.create_task(_ttft(client, url, KEYS["team-batch"], _long_prompt(100)))
        await asyncio.sleep(0.5)
        urgent = await _ttft(client, url, KEYS["team-urgent"], _long_prompt(200))
        late = await batch - 0.5  # both from the urgent probe's arrival
        await asyncio.gather(*flood)
    print(f"TTFT after the burst: urgent {urgent:.1f} s, batch {late:.1f} s")
    assert urgent < 0.75 * late, (urgent, late)
