"""Auth, overload, client disconnects and engine crashes, against the real stack."""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil
import pytest

from tests.conftest import DEFAULT_ADMISSION
from tests.stack import Stack, wait_running

pytestmark = pytest.mark.e2e
MODEL = "gemma-3-270m"
BODY = {"model": MODEL, "prompt": "Count: 1, 2, 3,", "max_tokens": 4}


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": "Basic dGVzdC1rZXktMQ=="}],
)
def test_requests_without_a_valid_key_get_the_same_401(
    default_stack: Stack, headers: dict[str, str]
) -> None:
    r = httpx.post(default_stack.base_url + "/completions", json=BODY, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "invalid or missing API key"
    assert r.json()["error"]["type"] == "authentication_error"


def test_every_configured_key_works(default_stack: Stack) -> None:
    for key in (default_stack.api_key, "second-key"):
        r = httpx.post(
            default_stack.base_url + "/completions",
            json=BODY,
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text


async def test_overload_gets_fast_503_with_retry_after_and_nothing_hangs(
    default_stack: Stack,
) -> None:
    body = {**BODY, "max_tokens": 24, "ignore_eos": True}
    async with httpx.AsyncClient(headers=default_stack.headers, timeout=120) as client:
        burst = [client.post(default_stack.base_url + "/completions", json=body) for _ in range(30)]
        started = time.monotonic()
        responses = await asyncio.gather(*burst)
        ok = await client.post(default_stack.base_url + "/completions", json=BODY)
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503}, codes
    assert codes.count(200) >= DEFAULT_ADMISSION
    rejected = [r for r in responses if r.status_code == 503]
    assert rejected, "30 concurrent requests should exceed the admission limit of 8"
    for r in rejected:
        assert r.headers["retry-after"] == "1"
        assert r.json()["error"]["type"] == "overloaded"
    assert time.monotonic() - started < 120
    assert ok.status_code == 200


def test_client_disconnect_mid_stream_frees_the_engine_slot(default_stack: Stack) -> None:
    body = {**BODY, "max_tokens": 2000, "ignore_eos": True, "stream": True}
    with httpx.Client(headers=default_stack.headers, timeout=60) as client:
        with client.stream("POST", default_stack.base_url + "/completions", json=body) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            for _ in range(5):
                next(lines)
            wait_running(default_stack, 1)  # the metrics agent's view lags by up to 25 s
    wait_running(default_stack, 0)  # "the aborted request still holds its engine slot"


@pytest.mark.disruptive
def test_engine_death_is_detected_and_the_replica_is_replaced(default_stack: Stack) -> None:
    cores = [
        p
        for p in psutil.Process(default_stack.process.pid).children(recursive=True)
        if p.name().startswith("VLLM::EngineCor")
    ]
    assert len(cores) == 1, [p.name() for p in cores]
    cores[0].kill()
    deadline = time.monotonic() + 60
    while True:
        try:
            status = httpx.get(default_stack.url + "/health", timeout=5).status_code
        except httpx.HTTPError:
            status = 0
        if status != 200:
            break
        assert time.monotonic() < deadline, "/health never reported the dead engine"
        time.sleep(0.5)
    deadline = time.monotonic() + 400
    while True:
        try:
            r = httpx.post(
                default_stack.base_url + "/completions",
                json=BODY,
                headers=default_stack.headers,
                timeout=30,
            )
            if r.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "traffic did not recover after the engine died"
        time.sleep(2)
    assert httpx.get(default_stack.url + "/health", timeout=5).status_code == 200
