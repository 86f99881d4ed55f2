"""Named API keys on the real stacks: budgets (429 + OpenAI's headers), metrics per key
name, and priorities that reach vLLM's scheduler (tests/conftest.py KEY_FILE)."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.conftest import DEFAULT_ADMISSION, KEY_FILE
from tests.stack import METRICS_LAG_S, Stack, prefill_repeats

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


def _key_count(stack: Stack, name: str, outcome: str) -> float:
    text = httpx.get(stack.metrics_url, timeout=10).text
    assert KEYS[name] not in text  # names, never keys
    total = 0.0
    for line in text.splitlines():
        if line.startswith("ray_gemma_serve_key_requests_total{") and all(
            tag in line for tag in (f'key="{name}"', f'outcome="{outcome}"')
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _await_key_count(
    stack: Stack, expected: float = 1, name: str = "team-limited", outcome: str = "limited"
) -> None:
    deadline = time.monotonic() + METRICS_LAG_S + 10
    while (seen := _key_count(stack, name, outcome)) < expected:
        assert time.monotonic() < deadline, f"key_requests{{{name}, {outcome}}} is {seen}"
        time.sleep(1)
    assert seen == expected, (name, outcome, seen)


def test_a_key_over_its_budget_gets_429s_on_the_ingress(default_stack: Stack) -> None:
    _over_budget_is_a_429_with_openais_headers(default_stack, "gemma-3-270m")
    _await_key_count(default_stack)


def test_a_key_over_its_budget_gets_429s_through_the_gateway(multi_stack: Stack) -> None:
    _over_budget_is_a_429_with_openais_headers(multi_stack, "gemma-3-270m-a")
    _await_key_count(multi_stack)


async def test_one_budget_holds_across_two_replicas(pair_stack: Stack) -> None:
    """team-shared's 8 requests a minute, spent at once, land on both replicas of one model;
    the ninth is refused: the book is the edge's, not a copy per replica."""
    budget = next(int(k["requests_per_minute"]) for k in KEY_FILE if k["name"] == "team-shared")
    client = openai.AsyncOpenAI(base_url=pair_stack.base_url, api_key=KEYS["team-shared"],
                                max_retries=0)  # fmt: skip

    async def one(i: int) -> str:
        raw = await client.completions.with_raw_response.create(
            model="gemma-3-270m-pair", prompt=f"{i} budget", max_tokens=24,
            extra_body={"ignore_eos": True},
        )  # fmt: skip
        assert raw.headers["x-ratelimit-limit-requests"] == str(budget)
        return raw.headers["x-gemma-serve-replica"]

    replicas = await asyncio.gather(*(one(i) for i in range(budget)))
    assert len(set(replicas)) == 2, replicas
    with pytest.raises(openai.RateLimitError) as caught:
        await client.completions.create(model="gemma-3-270m-pair", prompt="hi", max_tokens=1)
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    _await_key_count(pair_stack, budget, "team-shared", "admitted")
    _await_key_count(pair_stack, 1, "team-shared", "limited")


SENTENCE = "Weigh the plums and the figs on the scale, one at a time. "


def _long_prompt(i: int, repeats: int) -> str:
    """`repeats` x ~12 tokens, unique from the first (and unlike any other module's: a
    prefix-cache hit would skip the prefill that keeps requests waiting)."""
    return f"Key test {i}: " + SENTENCE * repeats


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
    """A burst from team-batch (priority 10), each prompt ~1.5 s of this host's prefill
    (`prefill_repeats`), fills several of vLLM's 2,048-token steps; then a
    team-batch probe arrives, and after it a team-urgent (-10) one. First come, first
    served, the batch probe's first token would come first; by priority the urgent
    probe is scheduled ahead of every waiting batch prompt, the batch probe after the
    burst. The engine's scheduler decides (the default stack runs
    `--scheduling-policy priority`), so one burst shows it."""
    url = default_stack.base_url + "/completions"
    burst = DEFAULT_ADMISSION - 2  # the two probes take the last admission slots
    # Each prompt ~1.5 s of prefill here (>= ~900 tokens): the burst is >= 9 s of work.
    n = await asyncio.to_thread(prefill_repeats, default_stack, "gemma-3-270m", SENTENCE)
    async with httpx.AsyncClient(timeout=600) as client:
        flood = [asyncio.create_task(_ttft(client, url, KEYS["team-batch"], _long_prompt(i, n)))
                 for i in range(burst)]  # fmt: skip
        await asyncio.sleep(2)  # the burst is in the engine, its first step running
        batch = asyncio.create_task(_ttft(client, url, KEYS["team-batch"], _long_prompt(100, n)))
        await asyncio.sleep(0.5)
        urgent = await _ttft(client, url, KEYS["team-urgent"], _long_prompt(200, n))
        late = await batch - 0.5  # both from the urgent probe's arrival
        await asyncio.gather(*flood)
    print(f"TTFT after the burst ({n} repeats a prompt): urgent {urgent:.1f} s, "
          f"batch {late:.1f} s")  # fmt: skip
    assert urgent < 0.75 * late, (urgent, late)
