"""/tokenize and /detokenize, after tests/entrypoints/serve/tokenize/test_tokenization.py.

vLLM's tests compare with the model's tokenizer loaded beside the test; these checks stay
on the wire: <bos> added or not, counts, max_model_len and round trips.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from benchmarks.conformance.shared import WEATHER_TOOLS

BOS = 2  # Gemma's <bos>


def _tokenize(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post("/tokenize", json=body)
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
    out: dict[str, Any] = r.json()
    assert out["count"] == len(out["tokens"])
    return out


def test_tokenize_completions(http: httpx.Client, model: str, max_model_len: int) -> None:
    """Mirrors tests/entrypoints/serve/tokenize/test_tokenization.py::test_tokenize_completions:
    add_special_tokens adds exactly <bos>; count, max_model_len, no token_strs by default."""
    prompt = "vllm1 This is a test prompt."
    plain = _tokenize(http, {"model": model, "prompt": prompt, "add_special_tokens": False})
    special = _tokenize(http, {"model": model, "prompt": prompt, "add_special_tokens": True})
    assert special["tokens"] == [BOS, *plain["tokens"]]
    assert plain["max_model_len"] == max_model_len and plain.get("token_strs") is None


def test_tokenize_chat(http: httpx.Client, model: str, max_model_len: int) -> None:
    """Mirrors tests/entrypoints/serve/tokenize/test_tokenization.py::test_tokenize_chat: the
    rendered conversation, with and without the generation prompt (which only appends) and
    special tokens."""
    conversation = [
        {"role": "user", "content": "Hi there!"},
        {"role": "assistant", "content": "Nice to meet you!"},
        {"role": "user", "content": "Can I ask a question? vllm1"},
    ]
    seen = {}
    for gen in (False, True):
        for special in (False, True):
            out = _tokenize(
                http,
                {
                    "model": model,
                    "messages": conversation,
                    "add_generation_prompt": gen,
                    "add_special_tokens": special,
                },
            )
            assert out["max_model_len"] == max_model_len and out.get("token_strs") is None
            seen[gen, special] = out["tokens"]
    without, with_gen = seen[False, False], seen[True, False]
    assert with_gen[: len(without)] == without and len(with_gen) > len(without)


def test_tokenize_chat_with_tools(http: httpx.Client, model: str) -> None:
    """Mirrors tests/entrypoints/serve/tokenize/test_tokenization.py::
    test_tokenize_chat_with_tools: a conversation with tools tokenizes (Gemma 3's own
    template does not render tools, so no size is asserted)."""
    conversation = [{"role": "user", "content": "What's the weather like in Paris today?"}]
    out = _tokenize(
        http,
        {
            "model": model,
            "messages": conversation,
            "tools": WEATHER_TOOLS,
            "add_generation_prompt": True,
        },
    )
    assert out["count"] > 0


def test_tokenize_with_return_token_strs(http: httpx.Client, model: str) -> None:
    """Mirrors tests/entrypoints/serve/tokenize/test_tokenization.py::
    test_tokenize_with_return_token_strs: one string per token, <bos> first."""
    out = _tokenize(
        http,
        {
            "model": model,
            "prompt": "This is a token_strs test prompt! vllm1",
            "return_token_strs": True,
        },
    )
    strs = out["token_strs"]
    assert isinstance(strs, list) and len(strs) == out["count"] and strs[0] == "<bos>"


@pytest.mark.parametrize("prompt", ["This is a test prompt. vllm1", "def add(a, b):\n    return a"])
def test_detokenize(http: httpx.Client, model: str, prompt: str) -> None:
    """Mirrors tests/entrypoints/serve/tokenize/test_tokenization.py::test_detokenize: the
    tokens of a prompt (without special tokens) detokenize to exactly {"prompt": prompt}."""
    tokens = _tokenize(http, {"model": model, "prompt": prompt, "add_special_tokens": False})[
        "tokens"
    ]
    r = http.post("/detokenize", json={"model": model, "tokens": tokens})
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
    assert r.json() == {"prompt": prompt}
