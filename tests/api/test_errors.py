"""Error bodies from below the edge become OpenAI-style JSON (pure)."""

from __future__ import annotations

import json

from gemma_serve.api.errors import openai_error


def _start(status: int) -> dict[str, object]:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"99")]
    return {"type": "http.response.start", "status": status, "headers": headers}


def test_fastapi_detail_is_wrapped_keeping_the_status() -> None:
    status, headers, body = openai_error(_start(400), b'{"detail": "There was an error parsing"}')
    assert status == 400
    err = json.loads(body)["error"]
    assert err["message"] == "There was an error parsing"
    assert err["type"] == "invalid_request_error" and err["code"] == 400
    assert (b"content-length", str(len(body)).encode()) in headers


def test_openai_errors_pass_unchanged() -> None:
    original = b'{"error": {"message": "x", "type": "NotFoundError", "param": null, "code": 404}}'
    assert openai_error(_start(404), original)[2] == original


def test_non_json_bodies_are_wrapped_too() -> None:
    status, _, body = openai_error(_start(500), b"Internal Server Error")
    assert status == 500
    assert json.loads(body)["error"]["message"] == "Internal Server Error"


def test_anthropic_errors_gain_openais_fields_and_keep_their_own() -> None:
    """vLLM's /v1/messages answers Anthropic's shape: both clients must read it."""
    original = b'{"type": "error", "error": {"type": "NotFoundError", "message": "no model"}}'
    status, headers, body = openai_error(_start(404), original)
    assert status == 404
    parsed = json.loads(body)
    assert parsed["type"] == "error"
    assert parsed["error"] == {"message": "no model", "type": "NotFoundError", "param": None,
                               "code": 404}  # fmt: skip
    assert (b"content-length", str(len(body)).encode()) in headers
