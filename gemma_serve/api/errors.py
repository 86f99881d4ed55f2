"""The one mapping from gemma-serve's exception tree to HTTP: OpenAI-style error JSON.

`ErrorEdge` is the outermost layer of every edge: whatever fails below it, the
client reads `{"error": {"message", "type", "param", "code"}}` with the status.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from gemma_serve.errors import GemmaServeError

logger = logging.getLogger(__name__)
#: The fields of OpenAI's error object.
_OPENAI_FIELDS = frozenset({"message", "type", "param", "code"})


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
    headers += getattr(exc, "headers", [])
    allow = getattr(exc, "allow", None)
    if allow:
        headers.append((b"allow", ", ".join(allow).encode()))
    return exc.status_code, headers, body


async def send_error(send: Any, exc: GemmaServeError) -> None:
    """Write `exc` as a complete HTTP response on an ASGI `send`."""
    status, headers, body = error_response_parts(exc)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ErrorEdge:
    """Every error a client sees is OpenAI-style JSON, raised here or answered below.

    GemmaServeError becomes its status and JSON; any other exception a 500 (logged);
    a 4xx/5xx body from below that is not `{"error": ...}` (e.g. FastAPI's
    `{"detail": ...}`) is rewritten into one. Only error responses are buffered;
    successful streams pass straight through.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        held: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400:
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                status, headers, body = openai_error(held, b"".join(chunks))
                await send({**held, "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except GemmaServeError as exc:
            if started:
                raise
            await send_error(send, exc)
        except Exception:
            if started:
                raise
            logger.exception("unexpected error serving %s %s", scope.get("method"), scope["path"])
            await send_error(send, GemmaServeError("internal error; see the server's log"))


def openai_error(
    start: dict[str, Any], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """`body` if it already is OpenAI's `{"error": ...}`, else the same status in that shape.

    Anthropic's `{"type": "error", "error": {"type", "message"}}` (vLLM's
    `/v1/messages`) keeps its fields and gains OpenAI's: either client reads it.
    """
    status = int(start["status"])
    headers = list(start.get("headers", ()))
    kind = "invalid_request_error" if status < 500 else "internal_error"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        error = parsed["error"]
        if _OPENAI_FIELDS <= error.keys():
            return status, headers, body
        filled = {"message": "error", "type": kind, "param": None, "code": status, **error}
        new = json.dumps({**parsed, "error": filled}).encode()
        return status, _json_headers(headers, new), new
    detail = parsed.get("detail", parsed) if isinstance(parsed, dict) else parsed
    message = detail if isinstance(detail, str) else json.dumps(detail) if detail else ""
    new = error_body(message or body.decode(errors="replace")[:500] or "error",
                     status=status, error_type=kind)  # fmt: skip
    return status, _json_headers(headers, new), new


def _json_headers(headers: list[tuple[bytes, bytes]], body: bytes) -> list[tuple[bytes, bytes]]:
    """`headers` for a new JSON `body`: its own content type and length."""
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
    length = str(len(body)).encode()
    return [*kept, (b"content-type", b"application/json"), (b"content-length", length)]
