"""Per-key budgets at the edge, both shapes: 429s with OpenAI's headers, priorities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gemma_serve.api.auth import load_api_keys
from gemma_serve.api.quotas import QuotaBook, request_cost
from gemma_serve.config.keys import ApiKey
from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ConfigError, RateLimited
from tests.api.test_edge import SHAPES, A, ModelApi, call, openai_error


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(**budgets: Any) -> ApiKey:
    return ApiKey(name="team-a", key="secret-a", **budgets)


def test_requests_refill_continuously_and_say_when() -> None:
    clock = Clock()
    k = key(requests_per_minute=2)
    book = QuotaBook([k], clock=clock)
    book.admit(k, 10)
    book.release(k)
    book.admit(k, 10)
    book.release(k)
    with pytest.raises(RateLimited) as caught:
        book.admit(k, 10)
    assert caught.value.retry_after_s == 30  # one request refills in 60 s / 2
    headers = dict(caught.value.headers)
    assert headers[b"x-ratelimit-remaining-requests"] == b"0"
    assert headers[b"x-ratelimit-reset-requests"] == b"1m0s"
    clock.now += 30
    book.admit(k, 10)  # refilled one


def test_tokens_are_charged_up_front_and_a_request_larger_than_the_budget_never_fits() -> None:
    clock = Clock()
    k = key(tokens_per_minute=100)
    book = QuotaBook([k], clock=clock)
    book.admit(k, 80)
    with pytest.raises(RateLimited, match="remaining 20, requested 30"):
        book.admit(k, 30)
    with pytest.raises(RateLimited, match="can never fit"):
        book.admit(k, 101)
    assert dict(book.headers(k))[b"x-ratelimit-remaining-tokens"] == b"20"


def test_concurrency_is_held_until_release() -> None:
    k = key(max_concurrency=1)
    book = QuotaBook([k], clock=Clock())
    book.admit(k, 1)
    with pytest.raises(RateLimited, match="concurrent requests: limit 1"):
        book.admit(k, 1)
    book.release(k)
    book.admit(k, 1)


def test_cost_is_prompt_bytes_over_four_plus_the_maximum_output() -> None:
    body = json.dumps({"model": "m", "prompt": "x" * 400, "max_tokens": 50}).encode()
    assert request_cost(body, json.loads(body), context_tokens=4096) == len(body) // 4 + 50
    body = json.dumps({"model": "m", "prompt": "hi"}).encode()
    assert request_cost(body, json.loads(body), context_tokens=4096) == 4096


def test_the_key_file_takes_named_keys_with_budgets(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("- {name: team-a, key: secret-a, requests_per_minute: 5, priority: -1}\n"
                    "- {name: team-b, key: secret-b}\n")  # fmt: skip
    keys = load_api_keys(ServerConfig(api_keys_file=str(path)), env={"GEMMA_SERVE_API_KEYS": "k"})
    assert [(k.name, k.requests_per_minute, k.priority) for k in keys] == [
        ("env-1", None, 0), ("team-a", 5, -1), ("team-b", None, 0)]  # fmt: skip
    path.write_text("bare-1\nbare-2\n")
    assert [k.name for k in load_api_keys(ServerConfig(api_keys_file=str(path)), env={})] == [
        "file-1", "file-2"]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: a, key: s1}\n- {name: a, key: s2}\n", "duplicate name: a"),
        ("- {name: a, key: s1, requests_per_minute: 0}\n", "0.requests_per_minute"),
        ("- {name: a, key: s1, colour: red}\n", "0.colour"),
    ],
)
def test_a_bad_key_file_is_one_line_naming_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_api_keys(ServerConfig(api_keys_file=str(path)), env={})


def limited(shape: Any, api: ModelApi, **budgets: Any) -> Any:
    return shape(api, [key(**budgets), ApiKey(name="free", key="secret-free")])


AUTH = {"authorization": "Bearer secret-a"}


@SHAPES
async def test_over_budget_is_a_429_with_retry_after_and_nothing_reaches_the_model(
    shape: Any,
) -> None:
    api = ModelApi()
    app = limited(shape, api, requests_per_minute=1)
    body = {"model": A, "prompt": "hi", "max_tokens": 1}
    first = await call(app, "POST", "/v1/completions", json=body, headers=AUTH)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "1"
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    second = await call(app, "POST", "/v1/completions", json=body, headers=AUTH)
    err = openai_error(second, 429)
    assert err["type"] == "rate_limit_exceeded" and "team-a" in err["message"]
    assert second.headers["retry-after"] == "60"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(api.seen) == 1
    other = await call(app, "POST", "/v1/completions", json=body,
                       headers={"authorization": "Bearer secret-free"})  # fmt: skip
    assert other.status_code == 200 and "x-ratelimit-limit-requests" not in other.headers


@SHAPES
async def test_every_answer_of_a_limited_key_carries_the_headers(shape: Any) -> None:
    app = limited(shape, ModelApi(), tokens_per_minute=10_000)
    r = await call(app, "GET", "/v1/models", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["x-ratelimit-remaining-tokens"] == "10000"


@SHAPES
async def test_the_keys_priority_replaces_the_clients(shape: Any) -> None:
    api = ModelApi()
    app = limited(shape, api, priority=5)
    body = {"model": A, "prompt": "hi", "max_tokens": 1, "priority": -100}
    assert (await call(app, "POST", "/v1/completions", json=body, headers=AUTH)).status_code == 200
    assert json.loads(api.seen[-1][2])["priority"] == 5
