from __future__ import annotations

import pytest

from gemma_serve.bench.sse import error_message, parse_line


def test_completion_token_and_usage() -> None:
    assert parse_line('data: {"choices":[{"index":0,"text":" a"}]}').kind == "token"
    # special tokens can have empty text: still a token chunk, as in vLLM's client
    assert parse_line('data: {"choices":[{"index":0,"text":""}]}').kind == "token"
    ev = parse_line('data: {"choices":[],"usage":{"completion_tokens":3}}')
    assert ev.kind == "usage" and ev.data == {"choices": [], "usage": {"completion_tokens": 3}}


def test_chat_role_only_chunk_is_not_a_token() -> None:
    role = 'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}'
    assert parse_line(role).kind == "skip"
    both = 'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}'
    assert parse_line(both).kind == "token"
    finish = 'data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":"length"}]}'
    assert parse_line(finish).kind == "token"


@pytest.mark.parametrize("line", ["", ": ping", "event: message", "id: 3"])
def test_non_data_lines_are_skipped(line: str) -> None:
    assert parse_line(line).kind == "skip"


def test_done_and_error() -> None:
    assert parse_line("data: [DONE]").kind == "done"
    ev = parse_line('data: {"error":{"message":"engine dead","code":503}}')
    assert ev.kind == "error" and error_message(ev.data) == "engine dead"


def test_bad_payload_raises() -> None:
    with pytest.raises(ValueError, match="bad SSE payload"):
        parse_line("data: {not json")
    with pytest.raises(ValueError):
        parse_line("data: [1, 2]")


def test_error_message_shapes() -> None:
    assert error_message({"detail": "nope"}) == "nope"
    assert error_message({"error": "flat"}) == "flat"
    assert error_message("text") == "text"
