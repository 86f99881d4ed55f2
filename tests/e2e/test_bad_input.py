"""Bad input, field by field: OpenAI-style error JSON with the right 4xx, never a 5xx.

The same matrix runs against both shapes of the edge: the single-model ingress
(the default stack) and the multi-model gateway (the multi stack), with the
same statuses. After each bad request the server still answers a good one.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_edge import assert_openai_error
from tests.stack import Stack

pytestmark = pytest.mark.e2e
#: The model in the cases below; through the gateway, its first model instead.
M = "gemma-3-270m"
GATEWAY_MODEL = "gemma-3-270m-a"
CHAT = "/chat/completions"
COMP = "/completions"
USER = [{"role": "user", "content": "hi"}]

CASES: list[tuple[str, str, Any, int]] = [
    ("unknown model", COMP, {"model": "gpt-4", "prompt": "hi"}, 404),
    ("missing model", COMP, {"prompt": "hi"}, 400),
    ("missing model, chat", CHAT, {"messages": USER}, 400),
    ("model not a string", COMP, {"model": 7, "prompt": "hi"}, 400),
    ("prompt wrong type", COMP, {"model": M, "prompt": {"a": 1}}, 400),
    ("empty prompt", COMP, {"model": M, "prompt": ""}, 400),
    ("empty messages", CHAT, {"model": M, "messages": []}, 400),
    ("messages not a list", CHAT, {"model": M, "messages": "hi"}, 400),
    ("message without role", CHAT, {"model": M, "messages": [{"content": "hi"}]}, 400),
    ("unknown role", CHAT, {"model": M, "messages": [{"role": "wizard", "content": "x"}]}, 400),
    (
        "roles Gemma's template rejects",
        CHAT,
        {"model": M, "messages": [{"role": "user", "content": "a"}] * 2},
        400,
    ),
    ("max_tokens zero", COMP, {"model": M, "prompt": "hi", "max_tokens": 0}, 400),
    ("max_tokens negative", CHAT, {"model": M, "messages": USER, "max_tokens": -5}, 400),
    ("max_tokens over context", COMP, {"model": M, "prompt": "hi", "max_tokens": 10**6}, 400),
    ("prompt over context", COMP, {"model": M, "prompt": "word " * 5000, "max_tokens": 1}, 400),
    ("temperature negative", COMP, {"model": M, "prompt": "hi", "temperature": -0.5}, 400),
    ("temperature a string", COMP, {"model": M, "prompt": "hi", "temperature": "hot"}, 400),
    ("top_p above 1", COMP, {"model": M, "prompt": "hi", "top_p": 1.5}, 400),
    ("top_p zero", CHAT, {"model": M, "messages": USER, "top_p": 0}, 400),
    ("n zero", COMP, {"model": M, "prompt": "hi", "n": 0}, 400),
    ("logprobs out of range", COMP, {"model": M, "prompt": "hi", "logprobs": 10**6}, 400),
    (
        "top_logprobs out of range",
        CHAT,
        {"model": M, "messages": USER, "logprobs": True, "top_logprobs": 10**6},
        400,
    ),
    ("stop wrong type", COMP, {"model": M, "prompt": "hi", "stop": 5}, 400),
    ("body is a list", COMP, [1, 2, 3], 400),
    ("unknown model, responses", "/responses", {"model": "gpt-4", "input": "hi"}, 404),
    (
        "max_output_tokens over context, responses",
        "/responses",
        {"model": M, "input": "hi", "max_output_tokens": 10**6},
        400,
    ),
    ("missing model, messages", "/messages", {"max_tokens": 1, "messages": USER}, 400),
    (
        "unknown model, messages",
        "/messages",
        {"model": "gpt-4", "max_tokens": 1, "messages": USER},
        404,
    ),
    (
        "max_tokens over context, messages",
        "/messages",
        {"model": M, "max_tokens": 10**6, "messages": USER},
        400,
    ),
    (
        "messages not a list, messages",
        "/messages",
        {"model": M, "max_tokens": 1, "messages": "hi"},
        400,
    ),
]


def _for(model: str, body: Any) -> Any:
    """`body` sent to `model` instead of M."""
    if isinstance(body, dict) and body.get("model") == M:
        return {**body, "model": model}
    return body


def _still_serving(stack: Stack, model: str) -> None:
    ok = httpx.post(
        stack.base_url + COMP,
        json={"model": model, "prompt": "hi", "max_tokens": 2},
        headers=stack.headers,
        timeout=60,
    )
    assert ok.status_code == 200


def _check_field(stack: Stack, model: str, path: str, body: Any, status: int) -> None:
    r = httpx.post(stack.base_url + path, json=_for(model, body), headers=stack.headers, timeout=60)
    assert_openai_error(r, status)
    _still_serving(stack, model)


FIELD_CASES = pytest.mark.parametrize(
    ("path", "body", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
BROKEN_BODIES = pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("malformed JSON", b'{"model": "gemma-3-270m", "prompt": ', 400),
        ("invalid UTF-8", b'{"model": "gemma-3-270m", "prompt": "\xff\xfe"}', 400),
        (
            "oversized body",
            b'{"model": "gemma-3-270m", "prompt": "' + b"a" * (33 << 20) + b'"}',
            413,
        ),
    ],
)


def _check_body(stack: Stack, model: str, content: bytes, status: int) -> None:
    content = content.replace(M.encode(), model.encode(), 1)
    headers = {"content-type": "application/json", **stack.headers}
    r = httpx.post(stack.base_url + COMP, content=content, headers=headers, timeout=60)
    assert_openai_error(r, status)
    _still_serving(stack, model)


@FIELD_CASES
def test_bad_field_gets_its_4xx(default_stack: Stack, path: str, body: Any, status: int) -> None:
    _check_field(default_stack, M, path, body, status)


@FIELD_CASES
def test_bad_field_gets_its_4xx_through_the_gateway(
    multi_stack: Stack, path: str, body: Any, status: int
) -> None:
    _check_field(multi_stack, GATEWAY_MODEL, path, body, status)


@BROKEN_BODIES
def test_broken_bodies(default_stack: Stack, name: str, content: bytes, status: int) -> None:
    _check_body(default_stack, M, content, status)


@BROKEN_BODIES
def test_broken_bodies_through_the_gateway(
    multi_stack: Stack, name: str, content: bytes, status: int
) -> None:
    _check_body(multi_stack, GATEWAY_MODEL, content, status)
