"""The `model` field is required on model-routed requests; the rest is vLLM's to judge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gemma_serve.api.validation import ModelRequired, require_model
from gemma_serve.errors import RequestError


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "gemma-3-270m", "prompt": "hi"}',
        b'{"\\u006dodel": "gemma-3-270m", "prompt": "hi"}',  # escaped key, still present
        b'{"model": 7}',  # wrong type: vLLM's own 400
        b"[1, 2]",  # not an object: vLLM's own 400
        b'{"prompt": ',  # malformed: vLLM's own 400
    ],
)
def test_passes_what_vllm_judges(body: bytes) -> None:
    require_model(body)


@pytest.mark.parametrize("body", [b'{"prompt": "hi"}', b'{"messages": [], "modelx": 1}', b"{}"])
def test_missing_model_is_a_400(body: bytes) -> None:
    with pytest.raises(RequestError, match='"model" is required') as info:
        require_model(body)
    assert info.value.status_code == 400


async def _call(path: str, body: bytes) -> bytes | None:
    """The body the wrapped app received, or None if it never ran."""
    seen: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((await receive())["body"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    await ModelRequired(app)(scope, receive, lambda m: None)
    return seen[0] if seen else None


async def test_middleware_replays_the_body_it_read() -> None:
    body = json.dumps({"model": "m", "prompt": "hi"}).encode()
    passed = await _call("/v1/completions", body)
    assert passed == body


async def test_middleware_rejects_before_the_app_runs() -> None:
    with pytest.raises(RequestError):
        await _call("/v1/chat/completions", b'{"messages": []}')


async def test_every_model_routed_path_needs_the_model() -> None:
    """The gateway routes /tokenize by its model too: a single model asks the same."""
    with pytest.raises(RequestError):
        await _call("/tokenize", b'{"prompt": "hi"}')


async def test_other_paths_are_not_read() -> None:
    passed = await _call("/v1/unknown", b'{"prompt": "hi"}')
    assert passed == b'{"prompt": "hi"}'
