"""Request-size limits, enforced before any body reaches vLLM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gemma_serve.errors import Overloaded, PayloadTooLarge


class BodyLimit:
    """413 for bodies over `max_bytes`, by Content-Length or while streaming in."""

    def __init__(
        self, app: Any, *, max_bytes: int, on_reject: Callable[[], None] = lambda: None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._on_reject = on_reject

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                self._on_reject()
                raise PayloadTooLarge(self._message())
        seen = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    self._on_reject()
                    raise PayloadTooLarge(self._message())
            return message

        await self.app(scope, counting_receive, send)

    def _message(self) -> str:
        return f"request body exceeds the limit of {self.max_bytes} bytes"


class AdmissionLimit:
    """Bound the generation requests a replica holds; beyond, a fast 503 + Retry-After.

    The engine runs up to `max_num_seqs` of them and queues the rest, so this
    bounds both concurrency and the queue; no request ever hangs for a slot.
    """

    def __init__(
        self,
        app: Any,
        *,
        max_in_flight: int,
        retry_after_s: float,
        on_reject: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self._on_reject = on_reject
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self._on_reject()
            raise Overloaded(
                f"replica is at its limit of {self.max_in_flight} requests in flight; retry later",
                retry_after_s=self.retry_after_s,
            )
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
