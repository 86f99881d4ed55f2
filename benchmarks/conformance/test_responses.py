"""/v1/responses, after tests/entrypoints/openai/responses/test_basic.py, test_simple.py and
test_structured_output.py (without the answers of their reasoning models)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import openai.types.responses as rt


def test_chat_with_input_type(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_basic.py::test_chat_with_input_type:
    input_text parts are served and the response completes."""
    out = client.responses.create(
        model=model,
        max_output_tokens=16,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}],
    )
    assert out.status in ("completed", "incomplete")
    assert out.output and out.output[-1].type == "message"


def test_basic(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_simple.py::test_basic: a string input
    completes with no incomplete_details (here the 270M may run to max_output_tokens, so a
    stop is asked for by a generous limit and checked as completed-or-length)."""
    out = client.responses.create(
        model=model, input="What is 123 * 456?", max_output_tokens=64, temperature=0.0
    )
    assert out.status in ("completed", "incomplete")
    if out.status == "completed":
        assert out.incomplete_details is None
    else:
        assert out.incomplete_details is not None
        assert out.incomplete_details.reason == "max_output_tokens"


def test_instructions(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_basic.py::test_instructions:
    `instructions` are accepted beside the input and a message comes back. (vLLM checks its
    model obeyed them: not asserted.)"""
    out = client.responses.create(
        model=model,
        instructions="Finish the answer with QED.",
        input="What is 13 * 24?",
        max_output_tokens=16,
    )
    assert out.output[-1].type == "message"
    assert isinstance(out.output_text, str)


def test_chat(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_basic.py::test_chat: a multi-turn input
    with system, user and assistant messages is served (answer not asserted)."""
    out = client.responses.create(
        model=model,
        max_output_tokens=16,
        input=[
            {"role": "system", "content": "Finish the answer with QED."},
            {"role": "user", "content": "What is 5 * 3?"},
            {"role": "assistant", "content": "15. QED."},
            {"role": "user", "content": "Multiply the result by 2."},
        ],
    )
    assert out.output[-1].type == "message" and isinstance(out.output_text, str)


def test_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_basic.py::test_logprobs:
    include message.output_text.logprobs with top_logprobs=5 gives 5 alternatives."""
    out = client.responses.create(
        model=model,
        input="What is 13 * 24?",
        top_logprobs=5,
        include=["message.output_text.logprobs"],
        max_output_tokens=8,
    )
    item = out.output[-1]
    assert item.type == "message"
    lps = item.content[-1].logprobs
    assert lps and len(lps[0].top_logprobs) == 5


def test_streaming(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_basic.py::test_streaming: created first,
    text deltas, completed last."""
    events = list(
        client.responses.create(
            model=model, input="What is 13 * 24?", stream=True, max_output_tokens=16
        )
    )
    assert isinstance(events[0], rt.ResponseCreatedEvent)
    assert any(isinstance(e, rt.ResponseTextDeltaEvent) for e in events)
    assert isinstance(events[-1], rt.ResponseCompletedEvent)


def test_streaming_output_consistency(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_simple.py::
    test_streaming_output_consistency: the deltas join to the completed response's output_text.
    (The final event's status is `completed` only when the model stopped: a 270M running to
    max_output_tokens ends with response.incomplete, which is accepted.)"""
    events = list(
        client.responses.create(
            model=model, input="Say hello in one sentence.", stream=True, max_output_tokens=32
        )
    )
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    last: Any = events[-1]
    assert last.type in ("response.completed", "response.incomplete")
    assert last.response.output and text == last.response.output_text


def test_streaming_logprobs(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_simple.py::test_streaming_logprobs:
    every text delta carries logprobs (<= 0) with up to 3 alternatives, some present."""
    events = list(
        client.responses.create(
            model=model,
            input="Say hello.",
            stream=True,
            top_logprobs=3,
            max_output_tokens=16,
            include=["message.output_text.logprobs"],
        )
    )
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert deltas
    tops = 0
    for d in deltas:
        assert d.logprobs
        for lp in d.logprobs:
            assert lp.logprob <= 0.0 and lp.top_logprobs is not None
            assert len(lp.top_logprobs) <= 3
            tops += len(lp.top_logprobs)
    assert tops > 0


def test_max_tokens(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_simple.py::test_max_tokens: a response
    cut by max_output_tokens is `incomplete` with reason max_output_tokens (8 tokens here, 30
    in vLLM's; no reasoning effort: not a reasoning model)."""
    out = client.responses.create(
        model=model, max_output_tokens=8, input="What is the first paragraph of Moby Dick?"
    )
    assert out.status == "incomplete"
    assert out.incomplete_details is not None
    assert out.incomplete_details.reason == "max_output_tokens"


def test_extra_sampling_params(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_simple.py::test_extra_sampling_params:
    top_k, repetition_penalty and seed in the body are accepted."""
    out = client.responses.create(
        model=model,
        input="Write a short sentence",
        max_output_tokens=50,
        temperature=0.7,
        top_p=0.9,
        extra_body={"top_k": 40, "repetition_penalty": 1.2, "seed": 42},
    )
    assert out.status in ("completed", "incomplete")
    assert out.output and out.output[0].content[0].text


def test_structured_output(client: openai.OpenAI, model: str) -> None:
    """Mirrors tests/entrypoints/openai/responses/test_structured_output.py::
    test_structured_output: text.format json_schema makes the output text valid JSON of the
    schema (vLLM also checks its model extracted the event: not asserted)."""
    schema = {
        "type": "object",
        "properties": {
            "event_name": {"type": "string", "maxLength": 24},
            "date": {"type": "string", "maxLength": 12},
            "participants": {
                "type": "array",
                "maxItems": 3,
                "items": {"type": "string", "maxLength": 12},
            },
        },
        "required": ["event_name", "date", "participants"],
        "additionalProperties": False,
    }
    out = client.responses.create(
        model=model,
        max_output_tokens=200,
        input=[
            {"role": "system", "content": "Extract the event information."},
            {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
        ],
        text={
            "format": {
                "type": "json_schema",
                "name": "calendar_event",
                "schema": schema,
                "strict": True,
            }
        },
    )
    jsonschema.validate(json.loads(out.output_text), schema)
