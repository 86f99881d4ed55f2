"""Named API keys on the real stacks: budgets (429 + OpenAI's headers), metrics per key
name, and priorities that reach vLLM's scheduler (tests/conftest.py KEY_FILE)."""

from __future__ import annotations

import asyncio
import statistics
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
    """~900 tokens, unique from the first: two fill most of a 2,048-token step."""
    return f"{i} " + "Count the apples and the pears in the basket, one by one. " * 75


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


async def test_a_high_priority_key_waits_less_under_a_flood(default_stack: Stack) -> None:
    """A flood from team-batch (priority 10) keeps prompts waiting in the engine; probes
    of team-urgent (-10) jump that queue, probes of team-batch wait in it."""
    url = default_stack.base_url + "/completions"
    probes: dict[str, list[float]] = {"team-urgent": [], "team-batch": []}
    async with httpx.AsyncClient(timeout=300) as client:
        stop = asyncio.Event()

        async def flood(worker: int) -> None:
            i = 0
            while not stop.is_set():
                await _ttft(client, url, KEYS["team-batch"], _long_prompt(worker * 1000 + i))
                i += 1

        workers = [asyncio.create_task(flood(w)) for w in range(DEFAULT_ADMISSION - 2)]
        await asyncio.sleep(3)  # the queue builds
        for round_ in range(4):
            for name in probes:  # alternate, so both see the same flood
                prompt = _long_prompt(900_000 + 10 * round_ + len(probes[name]))
                probes[name].append(await _ttft(client, url, KEYS[name], prompt))
        stop.set()
        await asyncio.gather(*workers)
    urgent, batch = (statistics.median(probes[n]) for n in ("team-urgent", "team-batch"))
    print(f"TTFT under the flood: urgent {probes['team-urgent']}, batch {probes['team-batch']}")
    assert urgent < 0.75 * batch, probes
