"""Reading an ASGI request body once and handing it on unchanged."""

from __future__ import annotations

from typing import Any

from gemma_serve.errors import RequestError


async def read_body(receive: Any) -> bytes:
    """The whole body; a client that leaves before sending it is a RequestError."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError("client disconnected before sending the body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive: Any) -> Any:
    """A `receive` that yields `body` once, then whatever the client sends next."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()  # after the body: disconnects
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def with_length(scope: dict[str, Any], length: int) -> dict[str, Any]:
    """`scope` with its Content-Length set to `length` (after a body was rewritten)."""
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}
