"""The one mapping from gemma-serve's exception tree to HTTP: OpenAI-style error JSON."""

from __future__ import annotations

import json
from typing import Any

from gemma_serve.errors import GemmaServeError


def error_body(message: str, *, status: int, error_type: str, param: str | None = None) -> bytes:
    """OpenAI's error envelope (the same shape vLLM's own errors have)."""
    payload: dict[str, Any] = {
        "error": {"message": message, "type": error_type, "param": param, "code": status}
    }
    return json.dumps(payload).encode()


def error_response_parts(exc: GemmaServeError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body for an exception at the edge."""
    body = error_body(str(exc), status=exc.status_code, error_type=exc.error_type)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers.append((b"retry-after", str(int(retry_after)).encode()))
    return exc.status_code, headers, body


async def send_error(send: Any, exc: GemmaServeError) -> None:
    """Write `exc` as a complete HTTP response on an ASGI `send`."""
    status, headers, body = error_response_parts(exc)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
