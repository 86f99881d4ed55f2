from __future__ import annotations

import time

import pytest

from gemma_serve.bench.client import OpenAIClient
from gemma_serve.bench.datasets import BenchRequest
from gemma_serve.bench.spec import Target
from tests.bench.fake_openai import FakeOpenAI

TARGET = Target(name="t", base_url="http://fake:8000/v1/", model="m")


def test_target_url_is_normalised() -> None:
    assert TARGET.base_url == "http://fake:8000"
    with pytest.raises(ValueError):
        Target(base_url="fake:8000", model="m")


def test_completions_body_matches_vllm_bench() -> None:
    client = OpenAIClient(TARGET, "completions", extra_body={"temperature": 0})
    body = client.body(BenchRequest(output_len=5, prompt="hi"))
    assert body == {
        "model": "m",
        "prompt": "hi",
        "max_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
        "ignore_eos": True,
        "temperature": 0,
    }
    with pytest.raises(ValueError):
        client.body(BenchRequest(output_len=5, messages=[{"role": "user", "content": "x"}]))


def test_chat_body() -> None:
    client = OpenAIClient(TARGET, "chat", ignore_eos=False)
    body = client.body(BenchRequest(output_len=5, prompt="hi"))
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_completion_tokens"] == 5 and "ignore_eos" not in body


@pytest.mark.parametrize("api", ["completions", "chat"])
async def test_times_every_token(api: str) -> None:
    fake = FakeOpenAI(ttft_s=0.05, itl_s=0.02)
    async with OpenAIClient(TARGET, api, transport=fake.transport()) as client:  # type: ignore[arg-type]
        t0 = time.perf_counter()
        rec = await client.send(3, BenchRequest(output_len=6, prompt="hello"), t0)
    assert rec.ok and rec.index == 3 and rec.status == 200
    assert rec.output_tokens == 6 and rec.prompt_tokens == 7
    assert len(rec.itl_s) == 5  # the chat role chunk is not a token
    assert rec.ttft_s is not None and 0.045 <= rec.ttft_s < 0.5
    assert all(0.015 <= g < 0.5 for g in rec.itl_s)
    assert rec.latency_s == pytest.approx(rec.ttft_s + sum(rec.itl_s))
    assert 0 <= rec.start_s < 0.1
    assert fake.bodies[0]["stream"] is True


async def test_http_error_is_recorded_with_status() -> None:
    fake = FakeOpenAI(status=503)
    async with OpenAIClient(TARGET, "completions", transport=fake.transport()) as client:
        rec = await client.send(0, BenchRequest(output_len=2, prompt="x"), time.perf_counter())
    assert not rec.ok
    assert (rec.status, rec.error_kind, rec.error) == (503, "http", "overloaded")


async def test_timeout() -> None:
    fake = FakeOpenAI(ttft_s=2.0)
    async with OpenAIClient(
        TARGET, "completions", timeout_s=0.1, transport=fake.transport()
    ) as client:
        rec = await client.send(0, BenchRequest(output_len=2, prompt="x"), time.perf_counter())
    assert rec.error_kind == "timeout" and not rec.ok


async def test_stream_without_tokens_fails() -> None:
    fake = FakeOpenAI()
    async with OpenAIClient(TARGET, "completions", transport=fake.transport()) as client:
        rec = await client.send(0, BenchRequest(output_len=0, prompt="x"), time.perf_counter())
    assert rec.error_kind == "no_tokens"


async def test_missing_usage_leaves_count_to_aggregation() -> None:
    fake = FakeOpenAI(usage=False)
    async with OpenAIClient(TARGET, "completions", transport=fake.transport()) as client:
        rec = await client.send(0, BenchRequest(output_len=4, prompt="x"), time.perf_counter())
    assert rec.ok and rec.output_tokens == 0 and len(rec.itl_s) == 3


async def test_send_outside_context_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        await OpenAIClient(TARGET, "chat").send(0, BenchRequest(output_len=1, prompt="x"), 0.0)
