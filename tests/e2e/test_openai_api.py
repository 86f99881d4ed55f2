"""The OpenAI-compatible API of the default deployment, driven with the `openai` client."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
MODEL = "gemma-3-270m"


@pytest.fixture(scope="module")
def client(default_stack: Stack) -> openai.OpenAI:
    return default_stack.openai()


def test_models_lists_the_default_model_with_its_context(client: openai.OpenAI) -> None:
    models = client.models.list().data
    assert [m.id for m in models] == [MODEL]
    assert models[0].model_extra is not None
    assert models[0].model_extra["max_model_len"] == 4096


def test_fibonacci_completion_returns_python(client: openai.OpenAI) -> None:
    out = client.completions.create(
        model=MODEL, prompt="def fibonacci(n):", max_tokens=48, temperature=0
    )
    text = out.choices[0].text
    assert "return" in text and ("if n" in text or "fibonacci(" in text), text
    assert out.usage is not None and out.usage.completion_tokens == 48
    assert out.usage.prompt_tokens == 7  # <bos> + 6 tokens: the tokenizer adds <bos> once


def test_completion_stop_max_tokens_and_n(client: openai.OpenAI) -> None:
    out = client.completions.create(
        model=MODEL, prompt="1, 2, 3, 4,", max_tokens=30, temperature=0.8, n=3, seed=7, stop=["9"]
    )
    assert len(out.choices) == 3
    for choice in out.choices:
        assert "9" not in choice.text
        assert choice.finish_reason in ("stop", "length")


def test_seed_makes_sampling_reproducible(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        return client.completions.create(
            model=MODEL, prompt="Once upon a time", max_tokens=16, temperature=1.0, top_p=0.9,
            seed=seed, extra_body={"top_k": 40},
        ).choices[0].text  # fmt: skip

    assert sample(1234) == sample(1234)
    assert len({sample(1), sample(2), sample(3)}) > 1  # sampling really samples


def test_completion_logprobs(client: openai.OpenAI) -> None:
    out = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=5, temperature=0, logprobs=3
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.tokens is not None and len(lp.tokens) == 5
    assert lp.top_logprobs is not None and all(len(t) >= 3 for t in lp.top_logprobs)
    assert all(v <= 0 for v in lp.token_logprobs or [])


def test_streaming_completion_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.completions.create(
            model=MODEL, prompt="def add(a, b):", max_tokens=20, temperature=0, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert len(text) > 0
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20
    assert sum(1 for c in chunks if c.choices and c.choices[0].text) > 1  # really streamed


def test_chat_completion_and_stream(client: openai.OpenAI) -> None:
    messages = [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Name a colour."},
    ]
    out = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=12,
        temperature=0,  # type: ignore[arg-type]
    )
    assert out.choices[0].message.role == "assistant"
    assert out.usage is not None and out.usage.prompt_tokens > 10
    stream = client.chat.completions.create(
        model=MODEL, messages=messages, max_tokens=12, temperature=0, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == out.choices[0].message.content
    assert chunks[-1].usage is not None


def test_chat_logprobs(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4,
        temperature=0, logprobs=True, top_logprobs=2,
    )  # fmt: skip
    content = out.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content is not None and len(content) == 4
    assert all(len(t.top_logprobs) == 2 for t in content)


def test_health_and_metrics(default_stack: Stack) -> None:
    assert httpx.get(default_stack.url + "/health").status_code == 200  # probes need no key
    text = httpx.get(default_stack.metrics_url).text  # the one scrape target
    assert "ray_vllm_num_requests_running{" in text
    assert 'model_name="gemma-3-270m"' in text
    # The API port answers for one replica at random behind HAProxy: it serves no metrics.
    r = httpx.get(default_stack.url + "/metrics")
    assert r.status_code == 404
    assert f"({default_stack.metrics_port} here)" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "no-such-model", "prompt": "hi"}, 404),
        ({"model": MODEL, "prompt": "word " * 5000, "max_tokens": 4}, 400),
        ({"model": MODEL, "prompt": "hi", "max_tokens": 0}, 400),
        ({"model": MODEL, "prompt": "hi", "temperature": -1}, 400),
    ],
)
def test_bad_requests_get_openai_errors_and_server_keeps_serving(
    default_stack: Stack, body: dict[str, object], status: int
) -> None:
    r = httpx.post(
        default_stack.base_url + "/completions",
        json=body,
        headers=default_stack.headers,
        timeout=60,
    )
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    ok = httpx.post(
        default_stack.base_url + "/completions",
        json={"model": MODEL, "prompt": "hi", "max_tokens": 2},
        headers=default_stack.headers,
        timeout=60,
    )
    assert ok.status_code == 200


def test_malformed_json_is_400(default_stack: Stack) -> None:
    r = httpx.post(
        default_stack.base_url + "/chat/completions",
        content=b'{"model": ',
        headers={"content-type": "application/json", **default_stack.headers},
    )
    assert r.status_code == 400
    assert "error" in r.json()


def test_chat_on_the_pretrained_model_carries_a_warning(client: openai.OpenAI) -> None:
    """`flavour: pt` (the embedded 270M): chat is served, and says it is a pt model."""
    chat = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    assert chat.status_code == 200
    assert "pretrained (pt) checkpoint" in chat.headers["warning"]
    completion = client.completions.with_raw_response.create(model=MODEL, prompt="Hi", max_tokens=4)
    assert "warning" not in completion.headers
    card = client.models.list().data[0]
    assert card.model_extra is not None and card.model_extra["flavour"] == "pt"
