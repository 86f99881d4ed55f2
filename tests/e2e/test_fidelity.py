"""Served greedy output equals the transformers reference implementation, token for token.

This catches tokenizer, <bos> and dtype mistakes that still produce fluent-looking text.
"""

from __future__ import annotations

import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
#: Prompts and token counts of the transformers reference (conftest's `reference_ids`).
PROMPTS = [
    "def fibonacci(n):",
    "The capital of France is",
    "Photosynthesis is the process by which",
    "import numpy as np\n\ndef mean(xs):",
]
TOKENS = 12
MUST_MATCH = 8


@pytest.mark.parametrize("prompt", PROMPTS)
def test_served_greedy_tokens_match_transformers(
    default_stack: Stack, reference_ids: dict[str, list[int]], prompt: str
) -> None:
    client = default_stack.openai()
    out = client.completions.create(
        model="gemma-3-270m", prompt=prompt, max_tokens=TOKENS, temperature=0,
        extra_body={"return_token_ids": True, "ignore_eos": True},
    )  # fmt: skip
    served = out.choices[0].model_extra["token_ids"]  # type: ignore[index]
    expected = reference_ids[prompt]
    assert served[:MUST_MATCH] == expected[:MUST_MATCH], (prompt, served, expected)
