"""Bad prompts: out-of-vocabulary, negative and empty token lists, too long for the context."""

from __future__ import annotations

import httpx
import openai
import pytest


def test_out_of_vocab_token_ids(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_prompt_validation.py::
    test_out_of_vocab_token_ids: a token id past the vocabulary is a 400 saying so."""
    with pytest.raises(openai.BadRequestError, match="out of vocabulary"):
        client.completions.create(model=model, prompt=[999999], max_tokens=5, temperature=0.0)


@pytest.mark.parametrize("prompt", [[-1], [[-1]]], ids=["flat", "nested"])
def test_negative_prompt_token_ids(
    client: openai.OpenAI, model: str, prompt: list[int] | list[list[int]]
) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion_error.py::
    test_negative_prompt_token_ids_flat and _nested, over HTTP: a negative id is a 400."""
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=model, prompt=prompt, max_tokens=10)


def test_empty_prompt_list_rejected(http: httpx.Client, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_empty_prompt_list.py::
    test_empty_prompt_list_rejected, over HTTP: `"prompt": []` is a 400 (the openai client
    refuses to send it, hence httpx)."""
    r = http.post("/v1/completions", json={"model": model, "prompt": [], "max_tokens": 5})
    assert r.status_code == 400, f"HTTP {r.status_code}: {r.text[:200]}"
    assert r.json().get("error", {}).get("message")


def test_empty_prompt(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_prompt_validation.py::test_empty_prompt:
    no prompt and empty prompt_embeds is a 400 naming both."""
    with pytest.raises(openai.BadRequestError, match="prompt or prompt_embeds"):
        client.completions.create(
            model=model,
            prompt=None,
            max_tokens=5,
            temperature=0.0,
            extra_body={"prompt_embeds": []},
        )


@pytest.mark.parametrize("short_by", [1, 0], ids=["fits", "too-long"])
def test_decoder_max_context_length_validation(
    client: openai.OpenAI, model: str, max_model_len: int, short_by: int
) -> None:
    """Mirrors tests/v1/e2e/test_context_length.py::test_decoder_max_context_length_validation,
    over HTTP: a prompt of max_model_len - 1 tokens plus 1 output token is served; one of
    max_model_len tokens is a 400 (vLLM's test checks the engine's ValueError)."""
    prompt = [43] * (max_model_len - short_by)
    if short_by:
        out = client.completions.create(model=model, prompt=prompt, max_tokens=1)
        assert out.usage is not None and out.usage.prompt_tokens == len(prompt)
        return
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=model, prompt=prompt, max_tokens=1)
