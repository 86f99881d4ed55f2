"""Tool calling, after vLLM's tests/entrypoints/openai/chat_completion/
test_completion_with_function_calling.py.

`required` and a named function are constrained by structured output to the tools'
schemas, so they hold on any checkpoint; `auto` depends on the template and the model.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest

from benchmarks.conformance.shared import PERSON_SCHEMA, WEATHER_CHAT, WEATHER_TOOLS

NAMED: Any = {"type": "function", "function": {"name": "get_current_weather"}}
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in WEATHER_TOOLS}


@pytest.mark.parametrize("stream", [False, True], ids=["unstreamed", "streamed"])
@pytest.mark.parametrize("tool_choice", ["required", NAMED], ids=["required", "named"])
def test_function_tool_use(
    client: openai.OpenAI, model: str, stream: bool, tool_choice: Any
) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::
    test_function_tool_use (tool_choice required and named, streamed and not; enable_thinking
    False: no reasoning parser here): tool_calls come back, and (ours) each call names a
    given tool and its arguments validate against that tool's schema. (`auto` is not
    applicable: see test_not_applicable.)"""
    kw: dict[str, Any] = dict(
        model=model,
        messages=WEATHER_CHAT,
        tools=WEATHER_TOOLS,
        tool_choice=tool_choice,
        max_completion_tokens=300,
    )
    calls: list[tuple[str, str]] = []
    if not stream:
        message = client.chat.completions.create(**kw).choices[0].message
        assert message.tool_calls, message
        calls = [(c.function.name, c.function.arguments) for c in message.tool_calls]
    else:
        by_index: dict[int, list[str]] = {}
        names: dict[int, str] = {}
        for chunk in client.chat.completions.create(**kw, stream=True):
            if chunk.choices and chunk.choices[0].delta.tool_calls:
                for d in chunk.choices[0].delta.tool_calls:
                    if d.function and d.function.name:
                        names[d.index] = d.function.name
                    if d.function and d.function.arguments:
                        by_index.setdefault(d.index, []).append(d.function.arguments)
        assert names, "no tool_calls deltas"
        calls = [(names[i], "".join(by_index.get(i, []))) for i in sorted(names)]
    for name, arguments in calls:
        assert name in SCHEMAS
        if tool_choice is NAMED:
            assert name == "get_current_weather"
        jsonschema.validate(json.loads(arguments), SCHEMAS[name])


def test_no_args_tool_call(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::
    test_no_args_tool_call: with a tool taking no parameters and tool_choice auto, either the
    model calls it (then its result goes back as a tool turn and a text answer follows) or it
    answers in text."""
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "get_current_time",
                "description": "Get the current date and time.",
                "parameters": {"type": "object", "properties": {}, "required": []},
            },
        }
    ]
    messages: list[Any] = [{"role": "user", "content": "What time is it now?"}]
    kw: dict[str, Any] = dict(model=model, temperature=0.0, seed=42, max_completion_tokens=64)
    message = (
        client.chat.completions.create(messages=messages, tools=tools, tool_choice="auto", **kw)
        .choices[0]
        .message
    )
    if not message.tool_calls:
        assert message.content is not None
        return
    call = message.tool_calls[0]
    messages += [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "2025-01-01T12:00:00"},
    ]
    final = client.chat.completions.create(messages=messages, **kw).choices[0].message
    assert final.content and final.content.strip()


def test_named_tool_use(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::
    test_named_tool_use: a named function returns its call with empty content and arguments
    valid against its schema, unstreamed and then streamed (deltas carry no content; one
    finish_reason). (vLLM's "different name and age" check is the model's: not asserted.)"""
    messages: list[Any] = [
        {"role": "system", "content": "you are a helpful assistant"},
        {"role": "user", "content": "Give an example JSON for a person using the tool."},
    ]
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "dummy_function_name",
                "description": "This is a dummy function",
                "parameters": PERSON_SCHEMA,
            },
        }
    ]
    kw: dict[str, Any] = dict(
        model=model,
        tools=tools,
        temperature=0.0,
        max_completion_tokens=200,
        tool_choice={"type": "function", "function": {"name": "dummy_function_name"}},
    )
    message = client.chat.completions.create(messages=messages, **kw).choices[0].message
    assert not message.content
    assert message.tool_calls
    arguments = message.tool_calls[0].function.arguments
    jsonschema.validate(json.loads(arguments), PERSON_SCHEMA)
    messages += [
        {"role": "assistant", "content": arguments},
        {"role": "user", "content": "Give me another one"},
    ]
    parts: list[str] = []
    finishes = 0
    for chunk in client.chat.completions.create(messages=messages, stream=True, **kw):
        delta = chunk.choices[0].delta
        if delta.role:
            assert delta.role == "assistant"
        assert not delta.content
        if (
            delta.tool_calls
            and delta.tool_calls[0].function
            and delta.tool_calls[0].function.arguments
        ):
            parts.append(delta.tool_calls[0].function.arguments)
        finishes += chunk.choices[0].finish_reason is not None
    assert finishes == 1
    jsonschema.validate(json.loads("".join(parts)), PERSON_SCHEMA)


def test_inconsistent_tool_choice_and_tools(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::
    test_inconsistent_tool_choice_and_tools: a named tool_choice without tools, naming a tool
    not given, or an empty tool_choice object are each a 400."""
    messages: list[Any] = [{"role": "user", "content": "Give an example JSON for a person"}]
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "dummy_function_name",
                "description": "This is a dummy function",
                "parameters": PERSON_SCHEMA,
            },
        }
    ]
    cases: list[dict[str, Any]] = [
        {"tool_choice": {"type": "function", "function": {"name": "dummy_function_name"}}},
        {
            "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "nondefined_function_name"}},
        },
        {"tools": tools, "tool_choice": {}},
    ]
    for case in cases:
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model=model, messages=messages, max_completion_tokens=100, **case
            )


@pytest.mark.parametrize("tool_choice", ["required", NAMED], ids=["required", "named"])
def test_max_tokens_with_tool_choice_required(
    client: openai.OpenAI, model: str, tool_choice: Any
) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_completion_with_function_calling.py::
    test_max_tokens_with_tool_choice_required: max_completion_tokens=1 with a constrained
    tool_choice finishes `length` with no tool_calls (it once crashed the engine)."""
    choice = client.chat.completions.create(
        model=model,
        messages=WEATHER_CHAT,
        tools=WEATHER_TOOLS,
        tool_choice=tool_choice,
        temperature=0,
        max_completion_tokens=1,
    ).choices[0]
    assert choice.finish_reason == "length"
    assert not choice.message.tool_calls
