"""Gemma 3 tool calling on the real stack, driven with the `openai` client.

The embedded model is the pretrained 270M: it was never taught to call tools,
so each case is one the engine's own machinery decides: `required` and a
named function are constrained by vLLM's structured output. `auto` is vLLM's
pythonic parser reading what the engine wrote: a few-shot conversation the greedy
270M continues with a pythonic call, stopped at its closing `]`.
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


#: Four earlier turns that answered with a call: the greedy 270M answers Rome's the same way.
FEW_SHOT = [
    turn
    for city in ("Paris", "Berlin", "Madrid", "Tokyo")
    for turn in (
        {"role": "user", "content": f"What is the weather in {city}?"},
        {"role": "assistant", "content": f'[get_weather(city="{city}")]'},
    )
] + [{"role": "user", "content": "What is the weather in Rome?"}]
#: The pretrained 270M never ends its turn: stop right after the call's list.
AT_THE_CALL = {"max_tokens": 20, "temperature": 0, "stop": ["]"],
               "extra_body": {"include_stop_str_in_output": True}}  # fmt: skip


def test_auto_parses_the_pythonic_call_the_model_writes(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=MODEL, messages=FEW_SHOT, tools=[WEATHER], tool_choice="auto", **AT_THE_CALL,  # type: ignore[arg-type]
    )  # fmt: skip
    _one_call(out.choices[0].message, "Rome")
    assert out.choices[0].message.content is None
    assert out.choices[0].finish_reason == "tool_calls"


def test_auto_streams_the_parsed_call(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=FEW_SHOT, tools=[WEATHER], tool_choice="auto", stream=True,  # type: ignore[arg-type]
        **AT_THE_CALL,
    )  # fmt: skip
    names, arguments, finish = [], "", None
    for chunk in stream:
        for delta_call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if delta_call.function and delta_call.function.name:
                names.append(delta_call.function.name)
            arguments += (delta_call.function and delta_call.function.arguments) or ""
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert names == ["get_weather"] and finish == "tool_calls"
    _names_the_city(arguments, "Rome")


def test_none_leaves_the_same_output_as_text(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=MODEL, messages=FEW_SHOT, tools=[WEATHER], tool_choice="none", **AT_THE_CALL,  # type: ignore[arg-type]
    )  # fmt: skip
    message = out.choices[0].message
    assert not message.tool_calls and message.content == '[get_weather(city="Rome")]'


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
