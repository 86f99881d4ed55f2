"""Served greedy output equals the transformers reference implementation, token for token.

This catches tokenizer, <bos> and dtype mistakes that still produce fluent-looking text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
PROMPTS = [
    "def fibonacci(n):",
    "The capital of France is",
    "Photosynthesis is the process by which",
    "import numpy as np\n\ndef mean(xs):",
]
TOKENS = 12
MUST_MATCH = 8


@pytest.fixture(scope="module")
def reference_ids(checkpoint_270m: Path) -> dict[str, list[int]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_270m)
    model = AutoModelForCausalLM.from_pretrained(checkpoint_270m, dtype=torch.bfloat16)
    out = {}
    for prompt in PROMPTS:
        enc = tok(prompt, return_tensors="pt")
        assert enc["input_ids"][0, 0].item() == 2  # <bos>
        gen = model.generate(**enc, max_new_tokens=TOKENS, do_sample=False)
        out[prompt] = gen[0, enc["input_ids"].shape[1] :].tolist()
    return out


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
