"""Every endpoint gemma-serve serves beyond completions and chat, on both shapes of the edge.

The same checks run through the single-model ingress (the default stack) and
the gateway (the multi stack), with the official `openai` and `anthropic`
clients; auth, limits and the error shape of these routes are in the edge's
matrices (tests/e2e/test_edge.py, tests/e2e/test_bad_input.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anthropic
import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
PROMPT = "The capital of France is"
#: A schema the greedy 270M fills and closes well inside the token budget.
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 20}, "sunny": {"type": "boolean"}},
    "required": ["city", "sunny"],
    "additionalProperties": False,
}


def responses(stack: Stack, model: str) -> None:
    client = stack.openai()
    out = client.responses.create(model=model, input=PROMPT, max_output_tokens=6, temperature=0)
    assert out.output_text and out.usage is not None and out.usage.output_tokens == 6
    events = list(client.responses.create(
        model=model, input=PROMPT, max_output_tokens=6, temperature=0, stream=True
    ))  # fmt: skip
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == out.output_text


def messages(stack: Stack, model: str) -> None:
    client = anthropic.Anthropic(base_url=stack.url, api_key=stack.api_key, max_retries=0)
    ask = [{"role": "user", "content": PROMPT}]
    out = client.messages.create(
        model=model,
        max_tokens=6,
        messages=ask,
        extra_body={"temperature": 0},  # type: ignore[arg-type]
    )
    text = "".join(b.text for b in out.content if b.type == "text")
    assert text and out.stop_reason == "max_tokens" and out.usage.output_tokens == 6
    with client.messages.stream(
        model=model,
        max_tokens=6,
        messages=ask,
        extra_body={"temperature": 0},  # type: ignore[arg-type]
    ) as stream:
        assert "".join(stream.text_stream) == text
    counted = client.messages.count_tokens(model=model, messages=ask)  # type: ignore[arg-type]
    assert counted.input_tokens > 5
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=stack.url, api_key="wrong", max_retries=0).messages.create(
            model=model,
            max_tokens=1,
            messages=ask,  # type: ignore[arg-type]
        )


def tokenize(stack: Stack, model: str) -> None:
    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        r = httpx.post(stack.url + path, json=body, headers=stack.headers, timeout=60)
        assert r.status_code == 200, r.text
        return dict(r.json())

    tokens = post("/tokenize", {"model": model, "prompt": "Hello world"})
    assert tokens["tokens"] == [2, 9259, 1902] and tokens["count"] == 3  # <bos> added once
    assert post("/detokenize", {"model": model, "tokens": [9259, 1902]}) == {
        "prompt": "Hello world"
    }


def structured(stack: Stack, model: str) -> None:
    client = stack.openai()
    ask = [{"role": "user", "content": "Is it sunny in Paris? Answer in JSON."}]
    out = client.chat.completions.create(
        model=model, messages=ask,  # type: ignore[arg-type]
        max_tokens=40, temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": WEATHER}},
    )  # fmt: skip
    assert out.choices[0].finish_reason == "stop"
    answer = json.loads(out.choices[0].message.content or "")
    assert set(answer) == {"city", "sunny"} and isinstance(answer["sunny"], bool)
    choice = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Pick a colour."}], max_tokens=5,
        temperature=0, extra_body={"structured_outputs": {"choice": ["teal", "mauve"]}},
    )  # fmt: skip
    assert choice.choices[0].message.content in ("teal", "mauve")
    regex = client.completions.create(
        model=model, prompt="My phone number is", max_tokens=12, temperature=0,
        extra_body={"structured_outputs": {"regex": r"\d{3}-\d{4}"}},
    )  # fmt: skip
    assert len(regex.choices[0].text) == 8 and regex.choices[0].text[3] == "-", regex.choices[0]


CHECKS: list[Callable[[Stack, str], None]] = [responses, messages, tokenize, structured]
EACH = pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])


@EACH
def test_on_the_single_model_ingress(
    default_stack: Stack, check: Callable[[Stack, str], None]
) -> None:
    check(default_stack, "gemma-3-270m")


@EACH
def test_through_the_gateway(multi_stack: Stack, check: Callable[[Stack, str], None]) -> None:
    check(multi_stack, "gemma-3-270m-a")
