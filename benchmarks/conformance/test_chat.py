"""/v1/chat/completions, after tests/entrypoints/openai/chat_completion/test_chat.py and friends."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import openai
import pytest

from benchmarks.conformance.shared import SYSTEM_AND_USER

WORLD_SERIES: list[Any] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Who won the world series in 2020?"},
    {"role": "assistant", "content": "The Los Angeles Dodgers won the World Series in 2020."},
    {"role": "user", "content": "Where was it played?"},
]


def test_no_logprobs_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_no_logprobs_chat."""
    out = client.chat.completions.create(
        model=model,
        messages=SYSTEM_AND_USER,
        max_completion_tokens=5,
        temperature=0.0,
        logprobs=False,
    )
    assert out.choices[0].logprobs is None


def test_zero_logprobs_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_zero_logprobs_chat:
    logprobs with top_logprobs=0 has per-token logprobs and no alternatives."""
    out = client.chat.completions.create(
        model=model,
        messages=SYSTEM_AND_USER,
        max_completion_tokens=5,
        temperature=0.0,
        logprobs=True,
        top_logprobs=0,
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.content is not None
    assert len(lp.content[0].top_logprobs) == 0


def test_some_logprobs_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_some_logprobs_chat."""
    out = client.chat.completions.create(
        model=model,
        messages=SYSTEM_AND_USER,
        max_completion_tokens=5,
        temperature=0.0,
        logprobs=True,
        top_logprobs=5,
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.content is not None
    assert len(lp.content[0].top_logprobs) == 5


def test_too_many_chat_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_too_many_chat_logprobs:
    top_logprobs above 20 is an error (streamed) and a 400 (unstreamed); the server keeps
    serving."""
    with pytest.raises((openai.BadRequestError, openai.APIError)):
        for _ in client.chat.completions.create(
            model=model,
            messages=SYSTEM_AND_USER,
            max_completion_tokens=10,
            logprobs=True,
            top_logprobs=21,
            stream=True,
        ):
            pass
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=model,
            messages=SYSTEM_AND_USER,
            max_completion_tokens=10,
            logprobs=True,
            top_logprobs=30,
        )
    out = client.chat.completions.create(
        model=model, messages=SYSTEM_AND_USER, max_completion_tokens=10
    )
    assert out.choices[0].message.content is not None


@pytest.mark.parametrize("prompt_logprobs", [1, 0, -2, None])
def test_prompt_logprobs_chat(
    client: openai.OpenAI, model: str, prompt_logprobs: int | None
) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_prompt_logprobs_chat:
    prompt_logprobs on a four-turn chat; negative (other than -1) is a 400. (-2 for vLLM's
    -1, as in test_prompt_logprobs_completion.)"""
    extra = {} if prompt_logprobs is None else {"prompt_logprobs": prompt_logprobs}
    if prompt_logprobs is not None and prompt_logprobs < 0:
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model=model, messages=WORLD_SERIES, max_tokens=5, extra_body=extra
            )
        return
    out = client.chat.completions.create(
        model=model, messages=WORLD_SERIES, max_tokens=5, extra_body=extra
    )
    got = (out.model_extra or {}).get("prompt_logprobs")
    if prompt_logprobs is None:
        assert got is None
    else:
        assert got and len(got) > 0


def test_more_than_one_prompt_logprobs_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_more_than_one_prompt_logprobs_chat: prompt_logprobs=2 gives two alternatives per
    prompt position (1 gives one), when the prompt token is among them."""

    def plp(k: int) -> list[Any]:
        out = client.chat.completions.create(
            model=model, messages=WORLD_SERIES, max_tokens=5, extra_body={"prompt_logprobs": k}
        )
        return list((out.model_extra or {})["prompt_logprobs"])

    one, two = plp(1), plp(2)
    assert one[0] is None and two[0] is None
    assert all(1 <= len(p) <= 2 for p in one[1:]) and all(2 <= len(p) <= 3 for p in two[1:])


def test_single_chat_session(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_single_chat_session:
    one choice, finish `length` at 5 tokens, usage adds up, role assistant; a second turn
    with the answer appended works. (vLLM pins prompt_tokens to its model: not here.)"""
    messages = list(SYSTEM_AND_USER)
    out = client.chat.completions.create(
        model=model, messages=messages, max_completion_tokens=5, logprobs=True, top_logprobs=5
    )
    assert out.id and len(out.choices) == 1
    choice = out.choices[0]
    assert choice.finish_reason == "length"
    u = out.usage
    assert u is not None and u.completion_tokens == 5
    assert u.total_tokens == u.prompt_tokens + 5
    assert choice.message.role == "assistant" and choice.message.content
    messages += [
        {"role": "assistant", "content": choice.message.content},
        {"role": "user", "content": "express your result in json"},
    ]
    again = client.chat.completions.create(model=model, messages=messages, max_completion_tokens=5)
    assert again.choices[0].message.content is not None


def test_chat_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_chat_streaming:
    the streamed deltas join to the unstreamed answer; one finish_reason, the same one."""
    kw: dict[str, Any] = dict(
        model=model, messages=SYSTEM_AND_USER, max_completion_tokens=10, temperature=0.0
    )
    single = client.chat.completions.create(**kw)
    chunks: list[str] = []
    finishes = 0
    last = None
    for chunk in client.chat.completions.create(**kw, stream=True):
        delta = chunk.choices[0].delta
        if delta.role:
            assert delta.role == "assistant"
        if delta.content:
            chunks.append(delta.content)
        finishes += chunk.choices[0].finish_reason is not None
        last = chunk
    assert finishes == 1 and last is not None
    assert last.choices[0].finish_reason == single.choices[0].finish_reason
    assert "".join(chunks) == single.choices[0].message.content


def test_chat_completion_stream_options(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_chat_completion_stream_options: no usage without include_usage; with it a final
    usage-only chunk; stream_options without stream is a 400; continuous usage grows each
    chunk and, with min_tokens=10, ends at 10. (The min_characters part is newer than vLLM
    0.32: not here.)"""
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    kw: dict[str, Any] = dict(
        model=model, messages=messages, max_completion_tokens=10, temperature=0.0
    )
    assert all(
        c.usage is None
        for c in client.chat.completions.create(
            **kw, stream=True, stream_options={"include_usage": False}
        )
    )
    chunks = list(
        client.chat.completions.create(
            **kw,
            stream=True,
            stream_options={
                "include_usage": True,
                "continuous_usage_stats": False,
            },
        )
    )
    assert all(c.usage is None for c in chunks[:-1])
    final = chunks[-1]
    assert final.choices == [] and final.usage is not None and final.usage.completion_tokens > 0
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
    for options in ({"include_usage": None}, {"include_usage": True}):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(**kw, stream=False, stream_options=options)
    last = 0
    for c in client.chat.completions.create(
        **kw,
        stream=True,
        extra_body={"min_tokens": 10},
        stream_options={"include_usage": True, "continuous_usage_stats": True},
    ):
        assert c.usage is not None
        assert (
            last == 0
            or c.usage.completion_tokens > last
            or (not c.choices and c.usage.completion_tokens == last)
        )
        assert c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens
        last = c.usage.completion_tokens
    assert last == 10


def test_response_format_text(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_response_format_text."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=10,
        messages=[{"role": "user", "content": "what is 1+1?"}],
        response_format={"type": "text"},
    )
    assert out.choices[0].message.content is not None


def test_extra_fields_allowed(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_extra_fields_allowed:
    an unknown field inside a message is ignored, not an error."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=10,
        temperature=0,
        seed=0,
        messages=[{"role": "user", "content": "what is 1+1?", "extra_field": "0"}],
    )
    assert out.choices[0].message.content is not None


def test_complex_message_content(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_complex_message_content: content as a list of text parts is served. (vLLM checks
    its model answers "2"; here: the same answer as the same text as a plain string.)"""
    text = "what is 1+1? please provide the result without any other text."
    kw: dict[str, Any] = dict(model=model, max_completion_tokens=10, temperature=0, seed=0)
    parts = client.chat.completions.create(
        **kw, messages=[{"role": "user", "content": [{"type": "text", "text": text}]}]
    )
    plain = client.chat.completions.create(**kw, messages=[{"role": "user", "content": text}])
    assert parts.choices[0].message.content == plain.choices[0].message.content


def test_custom_role(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_custom_role: a role
    the API does not define is rendered the same as string or as text parts."""
    kw: dict[str, Any] = dict(model=model, max_completion_tokens=10, temperature=0, seed=0)
    a = client.chat.completions.create(
        **kw, messages=[{"role": "my-custom-role", "content": "what is 1+1?"}]
    )
    b = client.chat.completions.create(
        **kw,
        messages=[
            {"role": "my-custom-role", "content": [{"type": "text", "text": "what is 1+1?"}]}
        ],
    )
    assert a.choices[0].message.content == b.choices[0].message.content


def test_long_seed(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::test_long_seed: a seed
    outside int64 is a 400 naming the bound violated."""
    for seed in (-(2**63) - 1, 2**63):
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(
                model=model,
                temperature=0,
                seed=seed,
                max_completion_tokens=5,
                messages=[{"role": "system", "content": "You are a helpful assistant."}],
            )
        assert (
            "greater_than_equal" in info.value.message or "less_than_equal" in info.value.message
        ), info.value.message


def test_chat_completion_n_parameter_non_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_chat_completion_n_parameter_non_streaming: n=3 gives 3 choices, indexed, not all
    the same."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=20,
        temperature=0.7,
        n=3,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the opposite of big?"},
        ],
    )
    assert [c.index for c in out.choices] == [0, 1, 2]
    assert all(c.message.content for c in out.choices)
    assert len({c.message.content for c in out.choices}) > 1


def test_chat_completion_n_parameter_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_chat_completion_n_parameter_streaming: n=2 streamed, both indices get content."""
    parts: dict[int, list[str]] = defaultdict(list)
    for chunk in client.chat.completions.create(
        model=model,
        max_completion_tokens=15,
        temperature=0.7,
        n=2,
        stream=True,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    ):
        for c in chunk.choices:
            if c.delta.content:
                parts[c.index].append(c.delta.content)
    assert "".join(parts[0]) and "".join(parts[1])


def test_chat_completion_n_with_seed(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_chat_completion_n_with_seed: n=2 with a seed; and (ours) the same seed twice gives
    the same two answers."""

    def run() -> list[str | None]:
        out = client.chat.completions.create(
            model=model,
            max_completion_tokens=10,
            temperature=0.8,
            n=2,
            seed=42,
            messages=[{"role": "user", "content": "Say hello."}],
        )
        assert [c.index for c in out.choices] == [0, 1]
        assert all(c.message.content for c in out.choices)
        return [c.message.content for c in out.choices]

    assert run() == run()


def test_chat_completion_n_equals_1(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_chat_completion_n_equals_1."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=10,
        temperature=0.7,
        n=1,
        messages=[{"role": "user", "content": "Hello!"}],
    )
    assert len(out.choices) == 1 and out.choices[0].index == 0
    assert out.choices[0].message.content is not None


@pytest.mark.parametrize("echo", [True, False])
def test_chat_session_with_echo_and_continue_final_message(
    client: openai.OpenAI, model: str, echo: bool
) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_chat_echo.py::
    test_chat_session_with_echo_and_continue_final_message: continue_final_message extends
    the last assistant turn; with echo its text comes back in front."""
    saying = "Here is a common saying about apple. An apple a day, keeps"
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=10,
        messages=[
            {"role": "user", "content": "tell me a common saying"},
            {"role": "assistant", "content": saying},
        ],
        extra_body={"echo": echo, "continue_final_message": True, "add_generation_prompt": False},
    )
    choice = out.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert choice.message.role == "assistant" and choice.message.content is not None
    assert (saying in choice.message.content) is echo


def test_chat_echo_prompt_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_chat_echo.py::test_prompt_logprobs:
    prompt_logprobs=-1 (every token of the vocabulary) is served."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=5,
        messages=[{"role": "user", "content": "Beijing is the capital of which country?"}],
        extra_body={"prompt_logprobs": -1},
    )
    got = (out.model_extra or {}).get("prompt_logprobs")
    assert got and len(got) > 0


def test_chat_echo_top_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/basic/test_chat_echo.py::test_top_logprobs:
    top_logprobs=-1 with logprobs is served and returns per-token logprobs."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=5,
        messages=[{"role": "user", "content": "Beijing is the capital of which country?"}],
        extra_body={"top_logprobs": -1, "logprobs": "true"},
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.content


def test_chat_logit_bias_valid(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat_logit_bias_validation.py::
    test_chat_logit_bias_valid: a bias on the last id of the vocabulary is accepted (Gemma 3's
    vocab_size, 262144, stands in for vLLM's ModelConfig lookup)."""
    out = client.chat.completions.create(
        model=model,
        max_tokens=5,
        logit_bias={"262143": 1.0},
        messages=[{"role": "user", "content": "Testing valid logit bias"}],
    )
    assert out.choices[0].message.content is not None


def test_chat_logit_bias_invalid(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat_logit_bias_validation.py::
    test_chat_logit_bias_invalid: an id past the vocabulary is a 400 naming it."""
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=model,
            max_tokens=5,
            logit_bias={"262145": 1.0},
            messages=[{"role": "user", "content": "Testing invalid logit bias"}],
        )
    assert info.value.status_code == 400 and "262145" in str(info.value)


def test_chat_logit_bias_non_integer_key(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat_logit_bias_validation.py::
    test_chat_logit_bias_non_integer_key: a key that is not a token id is a 400."""
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=model,
            max_tokens=5,
            logit_bias={"not_a_token_id": 50},
            messages=[{"role": "user", "content": "Testing invalid logit bias key"}],
        )
    assert info.value.status_code == 400
