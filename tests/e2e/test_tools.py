"""Gemma 3 tool calling on the real stack, driven with the `openai` client.

The embedded model is the pretrained 270M: it was never taught to call tools,
so each case is set up so the engine's own machinery decides the answer:
`required` and a named function are constrained by vLLM's structured output,
`auto` is vLLM's pythonic parser reading what the greedy 270M writes after a
conversation whose earlier calls the Gemma 3 tool template rendered as Python.
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


def _called(city: str, n: int) -> list[dict[str, Any]]:
    """An earlier turn: the user asks, the model called the tool, the tool answered."""
    arguments = json.dumps({"city": city})
    call = {"id": f"call{n}", "type": "function",
            "function": {"name": "get_weather", "arguments": arguments}}  # fmt: skip
    return [
        {"role": "user", "content": f"What is the weather in {city}?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"call{n}", "content": "sunny, 21 C"},
        {"role": "assistant", "content": f"It is sunny in {city}."},
    ]


#: Two earlier calls (rendered `[get_weather(city="...")]` by the template), then a new city:
#: the greedy 270M writes `[get_weather(city="Rome")]`; stopping at (and keeping) its `]`
#: leaves exactly the call for the parser.
FEW_SHOT = [*_called("Paris", 1), *_called("London", 2),
            {"role": "user", "content": "What is the weather in Rome?"}]  # fmt: skip
AUTO_STOP: dict[str, Any] = {"stop": ["]"], "extra_body": {"include_stop_str_in_output": True}}


@pytest.fixture(scope="module")
def client(default_stack: Stack) -> openai.OpenAI:
    return default_stack.openai()


def _one_call(message: Any, city: str) -> None:
    assert message.tool_calls is not None and len(message.tool_calls) == 1, message
    call = message.tool_calls[0].function
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": city}


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
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(arguments) == {"city": "Paris"}


def test_auto_parses_the_models_pythonic_call(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=MODEL, messages=FEW_SHOT, tools=[WEATHER], max_tokens=30, temperature=0,  # type: ignore[arg-type,list-item]
        **AUTO_STOP,
    )  # fmt: skip
    _one_call(out.choices[0].message, "Rome")
    assert out.choices[0].finish_reason == "tool_calls"
    assert not out.choices[0].message.content


def test_none_returns_the_same_output_as_text(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=MODEL, messages=FEW_SHOT, tools=[WEATHER], tool_choice="none",  # type: ignore[arg-type,list-item]
        max_tokens=30, temperature=0, **AUTO_STOP,
    )  # fmt: skip
    message = out.choices[0].message
    assert not message.tool_calls
    assert message.content == '[get_weather(city="Rome")]'


def test_a_named_function_through_the_gateway(multi_stack: Stack) -> None:
    out = multi_stack.openai().chat.completions.create(
        model="gemma-3-270m-b", messages=ASK, tools=[WEATHER], tool_choice=NAMED,  # type: ignore[arg-type,list-item]
        max_tokens=40, temperature=0,
    )  # fmt: skip
    _one_call(out.choices[0].message, "Paris")
