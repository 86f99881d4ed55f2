"""Server basics: health, version, models, content type, cancellation."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest


def test_check_health(http: httpx.Client) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_basic.py::test_check_health: /health is 200."""
    assert http.get("/health").status_code == 200


def test_show_version(http: httpx.Client) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_basic.py::test_show_version: GET /version
    answers {"version": ...} (vLLM compares it to its own version; we only ask for a string)."""
    r = http.get("/version")
    assert r.status_code == 200, f"GET /version: HTTP {r.status_code}"
    assert isinstance(r.json().get("version"), str)


def test_request_wrong_content_type(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_basic.py::test_request_wrong_content_type:
    a chat request sent as application/x-www-form-urlencoded is an error status."""
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Write a long story"}],
            max_tokens=10,
            extra_headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


def test_request_cancellation(base_url: str, api_key: str, model: str) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_basic.py::test_request_cancellation: clients
    that time out abandon long generations, and the server then answers a short request as
    fast as before (it would not, were the abandoned ones still generating). Scaled to a
    2-core CPU host: 16 requests of 300 forced tokens (vLLM: 200 of 10000) with a 1 s client
    timeout; 2 s later, 10 forced tokens within 3x their time on the idle server + 2 s
    (vLLM: a fixed 5 s)."""
    short_chat = {
        "model": model,
        "messages": [{"role": "user", "content": "Write a long story"}],
        "max_tokens": 10,
        "extra_body": {"min_tokens": 10},
    }

    async def timed(c: openai.AsyncOpenAI) -> float:
        started = time.monotonic()
        out = await c.chat.completions.create(**short_chat)
        assert len(out.choices) == 1
        return time.monotonic() - started

    async def run() -> None:
        async with openai.AsyncOpenAI(
            base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=60.0
        ) as patient:
            await timed(patient)  # warm-up
            idle = min([await timed(patient) for _ in range(3)])
            async with openai.AsyncOpenAI(
                base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=1.0
            ) as short:
                results = await asyncio.gather(
                    *(
                        short.chat.completions.create(
                            model=model,
                            messages=[{"role": "user", "content": "Write a long story"}],
                            max_tokens=300,
                            extra_body={"min_tokens": 300},
                        )
                        for _ in range(16)
                    ),
                    return_exceptions=True,
                )
            assert all(isinstance(r, openai.APITimeoutError) for r in results), [
                type(r).__name__ for r in results
            ]
            await asyncio.sleep(2.0)
            after = await timed(patient)
            limit = 3 * idle + 2.0
            assert after <= limit, (
                f"10 tokens took {after:.1f} s after the 16 timed-out requests, "
                f"{idle:.2f} s idle (limit {limit:.1f} s): the abandoned requests still run"
            )

    asyncio.run(run())


def test_check_models(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/models/test_models.py::test_check_models: the served
    model is listed first, with a `root` (vLLM's test also lists LoRA adapters: none here)."""
    models = client.models.list().data
    assert models and models[0].id == model
    assert isinstance(models[0].model_extra and models[0].model_extra.get("root"), str)


def test_retrieve_base_model(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/models/test_models.py::test_retrieve_base_model:
    GET /v1/models/{id} returns the model card."""
    card = client.models.retrieve(model)
    assert card.id == model


def test_retrieve_unknown_model(client: openai.OpenAI) -> None:
    """Mirrors tests/entrypoints/openai/models/test_models.py::test_retrieve_unknown_model:
    an unknown id is a 404 saying it does not exist."""
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("this-model-does-not-exist")
    assert "does not exist" in str(info.value)


def test_invocations(client: openai.OpenAI, http: httpx.Client, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_invocations:
    POST /invocations (SageMaker's route) answers a chat request as /v1/chat/completions."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "what is 1+1?"}],
        "max_completion_tokens": 5,
        "temperature": 0.0,
        "logprobs": False,
    }
    chat = client.chat.completions.create(**body).model_dump()
    r = http.post("/invocations", json=body)
    assert r.status_code == 200, f"POST /invocations: HTTP {r.status_code}"
    out = r.json()
    assert chat.keys() == out.keys()
    assert [c["message"]["content"] for c in chat["choices"]] == [
        c["message"]["content"] for c in out["choices"]
    ]
