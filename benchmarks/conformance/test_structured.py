"""Structured outputs on chat: choice, regex, json, response_format (vLLM's test_chat.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import openai
import pytest

from benchmarks.conformance.shared import IPV4_REGEX, LANGUAGES, PERSON_SCHEMA

SYSTEM: Any = {"role": "system", "content": "you are a helpful assistant"}


def test_structured_outputs_choice_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_structured_outputs_choice_chat: the answer is one of the choices, on the first and a
    follow-up turn. (vLLM also wants its model to pick a different one when told to: a
    property of the model, not asserted.)"""
    messages: list[Any] = [
        SYSTEM,
        {"role": "user", "content": "The best language for type-safe systems programming is "},
    ]
    kw: dict[str, Any] = dict(
        model=model,
        max_completion_tokens=10,
        temperature=0.7,
        extra_body={"structured_outputs": {"choice": LANGUAGES}},
    )
    first = client.chat.completions.create(messages=messages, **kw).choices[0].message.content
    assert first in LANGUAGES
    messages += [
        {"role": "assistant", "content": first},
        {"role": "user", "content": "I disagree, pick another one"},
    ]
    second = client.chat.completions.create(messages=messages, **kw).choices[0].message.content
    assert second in LANGUAGES


def test_structured_outputs_json_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_structured_outputs_json_chat: the answer parses and validates against the schema,
    twice over two turns (a bounded schema of our own; vLLM's second-turn "different name"
    check is the model's, not asserted)."""
    messages: list[Any] = [
        SYSTEM,
        {"role": "user", "content": f"Give an example JSON for a person: {PERSON_SCHEMA}"},
    ]
    kw: dict[str, Any] = dict(
        model=model,
        max_completion_tokens=200,
        extra_body={"structured_outputs": {"json": PERSON_SCHEMA}},
    )
    for _ in range(2):
        content = client.chat.completions.create(messages=messages, **kw).choices[0].message.content
        assert content is not None
        jsonschema.validate(json.loads(content), PERSON_SCHEMA)
        messages += [
            {"role": "assistant", "content": content},
            {"role": "user", "content": "Give me another one"},
        ]


def test_structured_outputs_regex_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_structured_outputs_regex_chat: the answer fully matches an IPv4 regex, on two turns."""
    messages: list[Any] = [
        SYSTEM,
        {"role": "user", "content": f"Give an example IP address with this regex: {IPV4_REGEX}"},
    ]
    kw: dict[str, Any] = dict(
        model=model,
        max_completion_tokens=20,
        extra_body={"structured_outputs": {"regex": IPV4_REGEX}},
    )
    for _ in range(2):
        ip = client.chat.completions.create(messages=messages, **kw).choices[0].message.content
        assert ip is not None and re.fullmatch(IPV4_REGEX, ip), ip
        messages += [
            {"role": "assistant", "content": ip},
            {"role": "user", "content": "Give me a different one"},
        ]


def test_structured_outputs_type_error(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_structured_outputs_type_error: a regex that is not a string is a 400."""
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=model,
            messages=[SYSTEM, {"role": "user", "content": "Pick a language"}],
            extra_body={"structured_outputs": {"regex": {1: "Python", 2: "C++"}}},
        )


def test_structured_outputs_choice_chat_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_structured_outputs_choice_chat_logprobs: under a choice constraint every returned
    top logprob is >= -9999 (OpenAI's floor), none -inf."""
    out = client.chat.completions.create(
        model=model,
        max_completion_tokens=10,
        logprobs=True,
        top_logprobs=5,
        messages=[
            SYSTEM,
            {"role": "user", "content": "The best language for type-safe systems programming is "},
        ],
        extra_body={"structured_outputs": {"choice": LANGUAGES}},
    )
    lp = out.choices[0].logprobs
    assert lp is not None and lp.content is not None
    for item in lp.content[0].top_logprobs:
        assert item.logprob >= -9999.0, item


def test_response_format_json_object(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_response_format_json_object: the answer is a JSON object. (vLLM also checks its
    model computed {"result": 2}: not asserted.)"""
    for _ in range(2):
        out = client.chat.completions.create(
            model=model,
            max_completion_tokens=200,
            response_format={"type": "json_object"},
            messages=[
                {
                    "role": "user",
                    "content": (
                        "what is 1+1? please respond with a JSON object, "
                        'the format is {"result": 2}'
                    ),
                }
            ],
        )
        content = out.choices[0].message.content
        assert out.choices[0].finish_reason == "stop", f"ran to max tokens: {content!r:.80}"
        assert content is not None and isinstance(json.loads(content), dict), content


def test_response_format_json_schema(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/chat_completion/test_chat.py::
    test_response_format_json_schema (constrained half): response_format json_schema gives
    JSON valid against it. (The unconstrained half, that the model cannot answer in that
    JSON unaided, and the value 2 are the model's: not asserted.)"""
    schema = {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
        "additionalProperties": False,
    }
    for _ in range(2):
        out = client.chat.completions.create(
            model=model,
            max_completion_tokens=200,
            messages=[{"role": "user", "content": 'what is 1+1? The format is "result": 2'}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "foo_test", "schema": schema},
            },
        )
        content = out.choices[0].message.content
        assert out.choices[0].finish_reason == "stop", f"ran to max tokens: {content!r:.80}"
        assert content is not None
        jsonschema.validate(json.loads(content), schema)


def test_json_schema_response_format_missing_schema(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/completion/test_completion_error.py::
    test_json_schema_response_format_missing_schema, over HTTP: response_format json_schema
    without its json_schema is a 400, not a 500."""
    with pytest.raises(openai.BadRequestError):
        client.completions.create(
            model=model,
            prompt="Test prompt",
            max_tokens=10,
            extra_body={"response_format": {"type": "json_schema"}},
        )
