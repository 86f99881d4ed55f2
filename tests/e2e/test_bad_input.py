"""Bad input, field by field: OpenAI-style error JSON with the right 4xx, never a 5xx.

After each bad request the server still answers a good one.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
M = "gemma-3-270m"
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
]


def _assert_openai_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert "Traceback" not in r.text


def _still_serving(stack: Stack) -> None:
    ok = httpx.post(
        stack.base_url + COMP,
        json={"model": M, "prompt": "hi", "max_tokens": 2},
        headers=stack.headers,
        timeout=60,
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_field_gets_its_4xx(default_stack: Stack, path: str, body: Any, status: int) -> None:
    r = httpx.post(
        default_stack.base_url + path, json=body, headers=default_stack.headers, timeout=60
    )
    _assert_openai_error(r, status)
    _still_serving(default_stack)


@pytest.mark.parametrize(
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
def test_broken_bodies(default_stack: Stack, name: str, content: bytes, status: int) -> None:
    headers = {"content-type": "application/json", **default_stack.headers}
    r = httpx.post(default_stack.base_url + COMP, content=content, headers=headers, timeout=60)
    _assert_openai_error(r, status)
    _still_serving(default_stack)
