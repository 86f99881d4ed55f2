"""Gemma 3 tool calling on the real stack, driven with the `openai` client.

The embedded model is the pretrained 270M: it was never taught to call tools,
so each case is one the engine's own machinery decides: `required` and a
named function are constrained by vLLM's structured output. (`auto` needs a
template that renders the tools, e.g. vLLM's Gemma 3 pythonic one, which is
not shipped with vLLM's wheel: `models[].tools.chat_template`.)
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
MODEL = "gemma-3-270m"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
NAMED = {"type": "function", "function": {"name": "get_weather"}}


@pytest.fixture(scope="module")
def client(default_stack: Stack) -> openai.OpenAI:
    return default_stack.openai()


def _one_call(message: Any, city: str) -> None:
    assert message.tool_calls is not None and len(message.tool_calls) == 1, message
    call = message.tool_calls[0].function
    assert call.name == "get_weather"
    _names_the_city(call.arguments, city)


def _names_the_city(arguments: str, city: str) -> None:
    """Valid JSON of the tool's schema naming the city (the 270M may write "Paris, France")."""
    parsed = json.loads(arguments)
    assert set(parsed) == {"city"} and city in parsed["city"], arguments


def test_required_returns_a_valid_call(client: openai.OpenAI) -> None:
    # The 270M would list the same call again and again; a repetition penalty ends the list.
    out = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=[WEATHER], tool_choice="required",  # type: ignore[arg-type,list-item]
        max_tokens=60, temperature=0, extra_body={"repetition_penalty": 1.3},
    )  # fmt: skip
    _one_call(out.choices[0].message, "Paris")
    assert out.choices[0].finish_reason == "tool_calls"


def test_a_named_function_returns_its_call(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=[WEATHER], tool_choice=NAMED,  # type: ignore[arg-type,list-item]
        max_tokens=40, temperature=0,
    )  # fmt: skip
    _one_call(out.choices[0].message, "Paris")


def test_a_named_function_streams_its_call(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=ASK, tools=[WEATHER], tool_choice=NAMED,  # type: ignore[arg-type,list-item]
        max_tokens=40, temperature=0, stream=True,
    ))  # fmt: skip
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or ()]
    assert len(deltas) > 2  # streamed, not one piece
    assert deltas[0].function is not None and deltas[0].function.name == "get_weather"
    _names_the_city("".join(d.function.arguments or "" for d in deltas if d.function), "Paris")


def test_a_named_function_through_the_gateway(multi_stack: Stack) -> None:
    out = multi_stack.openai().chat.completions.create(
        model="gemma-3-270m-b", messages=ASK, tools=[WEATHER], tool_choice=NAMED,  # type: ignore[arg-type,list-item]
        max_tokens=40, temperature=0,
    )  # fmt: skip
    _one_call(out.choices[0].message, "Paris")
