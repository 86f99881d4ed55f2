"""/v1/completions, after tests/entrypoints/openai/completion/test_completion.py."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

TOKENS = [106, 107, 108, 109, 110]  # five plain token ids of Gemma's vocabulary


def test_single_completion(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_single_completion:
    5 tokens, finish `length`, usage adds up and carries prompt_tokens_details; a prompt of
    token ids works too. (vLLM also pins prompt_tokens to its model's tokenizer: not here.)"""
    out = client.completions.create(
        model=model, prompt="Hello, my name is", max_tokens=5, temperature=0.0
    )
    assert out.id and len(out.choices) == 1
    choice = out.choices[0]
    assert len(choice.text) >= 5 and choice.finish_reason == "length"
    u = out.usage
    assert u is not None and u.completion_tokens == 5
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details is not None
    assert u.prompt_tokens_details.cached_tokens is not None
    ids = client.completions.create(model=model, prompt=TOKENS, max_tokens=5, temperature=0.0)
    assert len(ids.choices[0].text) >= 1
    assert (
        ids.choices[0].model_extra is None
        or ids.choices[0].model_extra.get("prompt_logprobs") is None
    )


def test_completion_truncation_side(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::
    test_completion_truncation_side_controls_prompt_truncation: truncate_prompt_tokens keeps
    the first or the last N prompt tokens, as truncation_side says (return_token_ids shows it)."""
    prompt = list(range(100, 108))
    for side, kept in (("right", prompt[:4]), ("left", prompt[-4:])):
        out = client.completions.create(
            model=model,
            prompt=prompt,
            max_tokens=1,
            temperature=0.0,
            extra_body={
                "return_token_ids": True,
                "truncate_prompt_tokens": 4,
                "truncation_side": side,
            },
        )
        extra = out.choices[0].model_extra or {}
        assert extra.get("prompt_token_ids") == kept, (side, extra.get("prompt_token_ids"))


def test_no_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_no_logprobs."""
    out = client.completions.create(
        model=model, prompt=TOKENS, max_tokens=5, temperature=0.0, logprobs=None
    )
    assert out.choices[0].logprobs is None


def test_zero_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_zero_logprobs:
    logprobs=0 gives the sampled token's logprob only."""
    out = client.completions.create(
        model=model, prompt=TOKENS, max_tokens=5, temperature=0.0, logprobs=0
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.token_logprobs is not None and lp.top_logprobs is not None
    assert len(lp.top_logprobs[0]) == 1


def test_some_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_some_logprobs:
    logprobs=5 gives 5 alternatives (6 when the sampled token is not among them)."""
    out = client.completions.create(
        model=model, prompt=TOKENS, max_tokens=5, temperature=0.0, logprobs=5
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.token_logprobs is not None and lp.top_logprobs is not None
    assert 5 <= len(lp.top_logprobs[0]) <= 6


def test_too_many_completion_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::
    test_too_many_completion_logprobs: logprobs above the server's max (20) is an error,
    streamed or not, and the server keeps serving."""
    with pytest.raises((openai.BadRequestError, openai.APIError)):
        client.completions.create(
            model=model, prompt=TOKENS, max_tokens=5, temperature=0.0, logprobs=21
        )
    with pytest.raises((openai.BadRequestError, openai.APIError)):
        for _ in client.completions.create(
            model=model, prompt=TOKENS, max_tokens=5, temperature=0.0, logprobs=30, stream=True
        ):
            pass
    out = client.completions.create(model=model, prompt=TOKENS, max_tokens=5, temperature=0.0)
    assert out.choices[0].text is not None


@pytest.mark.parametrize("prompt_logprobs", [-2, 0, 1, None])
def test_prompt_logprobs_completion(
    client: openai.OpenAI, model: str, prompt_logprobs: int | None
) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::
    test_prompt_logprobs_completion: prompt_logprobs on a two-prompt batch; a negative value
    is a 400. (vLLM's test sends -1, which the vLLM 0.32 here takes as "every token", as
    test_chat_echo.py::test_prompt_logprobs relies on; -2 is invalid in every version.)"""
    extra = {} if prompt_logprobs is None else {"prompt_logprobs": prompt_logprobs}
    prompts = ["A robot may not injure another robot", "My name is"]
    if prompt_logprobs is not None and prompt_logprobs < 0:
        with pytest.raises(openai.BadRequestError):
            client.completions.create(model=model, prompt=prompts, max_tokens=5, extra_body=extra)
        return
    out = client.completions.create(model=model, prompt=prompts, max_tokens=5, extra_body=extra)
    for choice in out.choices:
        got = (choice.model_extra or {}).get("prompt_logprobs")
        if prompt_logprobs is None:
            assert got is None
        else:
            assert got and len(got) > 0


def test_completion_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_completion_streaming:
    the streamed text equals the unstreamed one; one finish_reason, on the last chunk."""
    prompt = "What is an LLM?"
    single = (
        client.completions.create(model=model, prompt=prompt, max_tokens=5, temperature=0.0)
        .choices[0]
        .text
    )
    chunks: list[str] = []
    finishes = 0
    last = None
    for chunk in client.completions.create(
        model=model, prompt=prompt, max_tokens=5, temperature=0.0, stream=True
    ):
        chunks.append(chunk.choices[0].text)
        finishes += chunk.choices[0].finish_reason is not None
        last = chunk
    assert finishes == 1 and last is not None and last.choices[0].finish_reason == "length"
    assert last.choices[0].text
    assert "".join(chunks) == single


def test_parallel_no_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_parallel_no_streaming:
    n=3 at temperature 1 gives 3 distinct choices with indices 0..2 and finish reasons.
    (vLLM also wants the three to end at different lengths, which depends on its model
    stopping within 50 tokens: not asserted.)"""
    out = client.completions.create(
        model=model,
        prompt="What is an LLM?",
        max_tokens=50,
        n=3,
        temperature=1.0,
        logprobs=0,
        seed=42,
    )
    assert [c.index for c in out.choices] == [0, 1, 2]
    assert all(c.finish_reason is not None for c in out.choices)
    assert all(c.logprobs is not None and c.logprobs.tokens for c in out.choices)
    assert len({c.text for c in out.choices}) == 3


def test_parallel_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_parallel_streaming:
    n=3 streamed, each chunk one choice by index; 3 finish reasons, <= max_tokens chunks
    each, 3 distinct texts (lengths not asserted, as above)."""
    n, max_tokens = 3, 50
    parts: list[list[str]] = [[] for _ in range(n)]
    finishes = 0
    for chunk in client.completions.create(
        model=model,
        prompt="What is an LLM?",
        max_tokens=max_tokens,
        n=n,
        temperature=1.0,
        stream=True,
        seed=42,
    ):
        c = chunk.choices[0]
        parts[c.index].append(c.text)
        finishes += c.finish_reason is not None
    assert finishes == n
    assert all(len(p) <= max_tokens for p in parts)
    assert len({"".join(p) for p in parts}) == n


def test_completion_stream_options(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::
    test_completion_stream_options (streamed half): no usage unless include_usage; with it,
    one final chunk with usage and no choices; with continuous_usage_stats, usage on every
    chunk."""
    base = dict(
        model=model,
        prompt="What is the capital of France?",
        max_tokens=5,
        temperature=0.0,
        stream=True,
    )
    for options in (
        {"include_usage": False, "continuous_usage_stats": False},
        {"include_usage": False, "continuous_usage_stats": True},
        {},
    ):
        assert all(
            c.usage is None for c in client.completions.create(**base, stream_options=options)
        )
    for continuous in (False, True):
        chunks = list(
            client.completions.create(
                **base,
                stream_options={
                    "include_usage": True,
                    "continuous_usage_stats": continuous,
                },
            )
        )
        final = chunks[-1]
        assert final.choices == [] and final.usage is not None
        assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
        for c in chunks[:-1]:
            if continuous:
                assert c.usage is not None and c.usage.completion_tokens > 0
            else:
                assert c.usage is None


@pytest.mark.parametrize(
    "options",
    [
        {"include_usage": None},
        {"include_usage": True},
        {"continuous_usage_stats": None},
        {"continuous_usage_stats": True},
    ],
    ids=["include_usage-None", "include_usage-True", "continuous-None", "continuous-True"],
)
def test_completion_stream_options_without_stream(
    client: openai.OpenAI, model: str, options: dict[str, bool | None]
) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::
    test_completion_stream_options (unstreamed half): stream_options without stream is a 400."""
    with pytest.raises(openai.BadRequestError):
        client.completions.create(
            model=model,
            prompt="What is the capital of France?",
            max_tokens=5,
            temperature=0.0,
            stream=False,
            stream_options=options,
        )


def test_batch_completions(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_batch_completions:
    a list of two equal prompts (text, then token ids) gives two equal choices; n=2 with beam
    search gives 4 choices, two different beams per prompt; streamed, each chunk has one
    choice by index and the two texts agree."""
    for prompts in (["Hello, my name is"] * 2, [TOKENS] * 2):
        batch = client.completions.create(
            model=model, prompt=prompts, max_tokens=5, temperature=0.0
        )
        assert len(batch.choices) == 2 and batch.choices[0].text == batch.choices[1].text
        beams = client.completions.create(
            model=model,
            prompt=prompts,
            n=2,
            max_tokens=5,
            temperature=0.0,
            extra_body={"use_beam_search": True},
        )
        t = [c.text for c in beams.choices]
        assert len(t) == 4 and t[0] != t[1] and t[0] == t[2] and t[1] == t[3], t
        texts = ["", ""]
        for chunk in client.completions.create(
            model=model, prompt=prompts, max_tokens=5, temperature=0.0, stream=True
        ):
            assert len(chunk.choices) == 1
            texts[chunk.choices[0].index] += chunk.choices[0].text
        assert texts[0] == texts[1]


@pytest.mark.parametrize("logprobs", [1, 0])
def test_echo_logprob_completion(
    client: openai.OpenAI, http: httpx.Client, model: str, logprobs: int
) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::
    test_echo_logprob_completion: echo=True returns the prompt before the completion, with
    logprobs over prompt and completion (the first token's None); a token-id prompt echoes its
    detokenized text (read from /detokenize instead of a local tokenizer)."""
    for prompt in ("Hello, my name is", TOKENS):
        out = client.completions.create(
            model=model, prompt=prompt, max_tokens=5, temperature=0.0, echo=True, logprobs=logprobs
        )
        if isinstance(prompt, list):
            r = http.post("/detokenize", json={"model": model, "tokens": prompt})
            r.raise_for_status()
            text = r.json()["prompt"]
        else:
            text = prompt
        assert re.match(re.escape(text), out.choices[0].text)
        lp = out.choices[0].logprobs
        assert lp is not None and lp.text_offset and lp.token_logprobs and lp.top_logprobs
        assert len(lp.text_offset) > 5 and len(lp.tokens or []) > 5
        assert len(lp.token_logprobs) > 5 and lp.token_logprobs[0] is None
        assert len(lp.top_logprobs) > 5 and lp.top_logprobs[0] is None
        for top in lp.top_logprobs[1:]:
            assert max(logprobs, 1) <= len(top) <= logprobs + 1


def test_invalid_json_schema(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_invalid_json_schema:
    a schema with a property that is not a schema ("foo": "bar") is rejected."""
    schema = {
        "type": "object",
        "properties": {"brand": {"type": "string"}, "foo": "bar"},
        "required": ["brand"],
    }
    with pytest.raises((openai.BadRequestError, openai.APIError)):
        client.completions.create(
            model=model,
            prompt="Describe a car as JSON:",
            extra_body={"structured_outputs": {"json": schema}},
        )


def test_invalid_regex(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_invalid_regex."""
    with pytest.raises((openai.BadRequestError, openai.APIError)):
        client.completions.create(
            model=model,
            prompt="An email address:",
            extra_body={"structured_outputs": {"regex": r"[.*"}, "stop": ["\n"]},
        )


def test_invalid_grammar(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion.py::test_invalid_grammar:
    an EBNF grammar whose root names an undefined rule is rejected."""
    grammar = 'root ::= select_statementinvalidsyntax\nselect_statement ::= "SELECT " "x"\n'
    with pytest.raises((openai.BadRequestError, openai.APIError)):
        client.completions.create(
            model=model,
            prompt="An SQL query:",
            extra_body={"structured_outputs": {"grammar": grammar}},
        )
