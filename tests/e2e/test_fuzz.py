"""Schema-driven fuzzing of the completion endpoints: whatever the body, never a 5xx.

hypothesis generates request bodies field by field (valid, edge and wrong values
of each OpenAI field) and sends them to the real stack.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stack import Stack

pytestmark = pytest.mark.e2e

_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
_fields: dict[str, st.SearchStrategy[Any]] = {
    "model": st.one_of(st.just("gemma-3-270m"), _junk),
    "max_tokens": st.one_of(st.integers(-2, 8), _junk),
    "temperature": st.one_of(st.floats(-1, 3), _junk),
    "top_p": st.one_of(st.floats(-0.5, 1.5), _junk),
    "top_k": st.one_of(st.integers(-2, 50), _junk),
    "n": st.one_of(st.integers(-1, 3), _junk),
    "seed": st.one_of(st.integers(-(2**63), 2**63), _junk),
    "stop": st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=5), _junk),
    "logprobs": st.one_of(st.integers(-1, 30), _junk),
    "stream": st.one_of(st.booleans(), _junk),
    "presence_penalty": st.one_of(st.floats(-3, 3), _junk),
}
_prompt = st.one_of(st.text(max_size=40), st.lists(st.integers(0, 300_000), max_size=8), _junk)
_messages = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "assistant", "system", "tool", "x"]),
                "content": st.one_of(st.text(max_size=30), _junk),
            }
        ),
        max_size=4,
    ),
    _junk,
)


def _body(extra: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    optional = st.fixed_dictionaries({}, optional=_fields)
    return st.tuples(optional, extra).map(lambda t: {**t[0], **t[1]})


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    completion=_body(st.fixed_dictionaries({}, optional={"prompt": _prompt})),
    chat=_body(st.fixed_dictionaries({}, optional={"messages": _messages})),
)
def test_no_body_gets_a_server_error(
    default_stack: Stack, completion: dict[str, Any], chat: dict[str, Any]
) -> None:
    for path, body in (("/completions", completion), ("/chat/completions", chat)):
        if isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 8:
            body["max_tokens"] = 8
        # json.dumps writes NaN/Infinity as bare tokens (invalid JSON): the server must say 400.
        content = json.dumps(body).encode()
        headers = {"content-type": "application/json", **default_stack.headers}
        r = httpx.post(default_stack.base_url + path, content=content, headers=headers, timeout=120)
        assert r.status_code < 500, (path, body, r.status_code, r.text[:300])
