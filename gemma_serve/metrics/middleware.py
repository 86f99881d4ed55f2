"""A pure ASGI middleware that measures OpenAI completion requests for one model.

Not Starlette's BaseHTTPMiddleware: that one re-wraps every streamed chunk in
a task and memory stream, breaking backpressure and costing CPU. Per chunk this
does one clock read, one subtraction and one histogram observation (a Ray
metric record, a few microseconds); JSON is read once, at the end, and only
when vLLM did not leave the usage on `request.state`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from time import perf_counter

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gemma_serve.metrics.edge import (
    EdgeMetrics,
    ErrorType,
    ModelEdgeMetrics,
    error_type_for_status,
)

__all__ = ["EdgeMetricsMiddleware", "usage_from_json"]

logger = logging.getLogger(__name__)

_EVENT_STREAM = b"text/event-stream"
_DONE = b"data: [DONE]"
_USAGE = b'"usage"'
_DISCONNECTS = (ClientDisconnect, OSError, asyncio.CancelledError)
_decoder = json.JSONDecoder()


class EdgeMetricsMiddleware:
    """Wrap an ASGI app; measure requests `observe(scope)` selects, labelled `model`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: EdgeMetrics,
        model: str,
        observe: Callable[[Scope], bool],
    ) -> None:
        self.app = app
        self._model = metrics.for_model(model)
        self._observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._observe(scope):
            await self.app(scope, receive, send)
            return
        await _Exchange(self._model, scope, receive, send).run(self.app)


class _Exchange:
    """The state of one measured request; its `send` runs once per response chunk."""

    __slots__ = (
        "_m", "_receive", "_scope", "_send", "disconnected", "done", "first", "last",
        "parts", "pending", "prev", "start", "status", "streaming", "tail",
    )  # fmt: skip

    def __init__(self, model: ModelEdgeMetrics, scope: Scope, receive: Receive, send: Send) -> None:
        self._m = model
        self._scope = scope
        self._receive = receive
        self._send = send
        self.start = perf_counter()
        self.status = 0
        self.streaming = False
        self.first: float | None = None
        self.last = 0.0
        self.pending = -1.0  # the latest gap, committed when the next chunk proves it a token
        self.done: float | None = None
        self.disconnected = False
        self.prev = self.tail = b""
        self.parts: list[bytes] = []

    async def run(self, app: ASGIApp) -> None:
        self._m.request_started()
        try:
            await app(self._scope, self.receive, self.send)
        except BaseException as exc:
            self._finish_safely(exc)
            raise
        else:
            self._finish_safely(None)
        finally:
            self._m.request_finished()

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body")
            if body:
                now = perf_counter()
                if self.first is None:
                    self.first = now
                elif self.streaming:
                    if self.pending >= 0.0:
                        self._m.observe_itl(self.pending)
                    self.pending = now - self.last
                self.last = now
                if self.streaming:
                    self.prev, self.tail = self.tail, body
                else:
                    self.parts.append(body)
            if not message.get("more_body", False):
                self.done = perf_counter()
        elif message["type"] == "http.response.start":
            self.status = message["status"]
            for name, value in message.get("headers", ()):
                if name == b"content-type":
                    self.streaming = value.startswith(_EVENT_STREAM)
                    break
        await self._send(message)

    def _finish_safely(self, exc: BaseException | None) -> None:
        try:
            self._finish(exc)
        except Exception:  # metrics must never fail a request
            logger.exception("edge metrics: could not record a request")

    def _finish(self, exc: BaseException | None) -> None:
        m = self._m
        error: ErrorType | None
        if self.done is None:
            if self.disconnected or isinstance(exc, _DISCONNECTS):
                status, error = "499", "client_disconnected"
            else:
                status, error = str(self.status if self.status >= 500 else 500), "internal"
        else:
            status, error = str(self.status), error_type_for_status(self.status)
        tail = b""
        if error is None and self.streaming:
            tail = self.prev + self.tail
            if _stream_failed(tail):
                error = "stream_error"
        m.count_request(status)
        if error is not None:
            m.count_error(error)
            return
        end = self.done if self.done is not None else perf_counter()
        m.observe_e2e(end - self.start)
        if self.first is not None:
            m.observe_ttft(self.first - self.start)
        if self.pending >= 0.0 and not self.tail.startswith(_DONE):
            m.observe_itl(self.pending)
        usage = _usage_from_state(self._scope)
        if usage is None:
            usage = usage_from_json(tail if self.streaming else b"".join(self.parts))
        if usage is not None:
            m.count_tokens(*usage)


def _stream_failed(tail: bytes) -> bool:
    """Whether the last SSE event before `[DONE]` is vLLM's `{"error": ...}` event."""
    end = tail.rfind(_DONE)
    start = tail.rfind(b"data: {", 0, end if end >= 0 else len(tail))
    return start >= 0 and tail.startswith(b'{"error"', start + 6)


def _usage_from_state(scope: Scope) -> tuple[int, int] | None:
    """vLLM's OpenAI handlers leave the final usage on `request.state` for middleware.

    It is there for streams too, where the client did not ask for `include_usage`.
    """
    state = scope.get("state")
    meta = state.get("request_metadata") if isinstance(state, dict) else None
    info = getattr(meta, "final_usage_info", None)
    if info is None:
        return None
    prompt, completion = getattr(info, "prompt_tokens", None), getattr(info, "completion_tokens", 0)
    if not isinstance(prompt, int):
        return None
    return prompt, completion if isinstance(completion, int) else 0


def usage_from_json(data: bytes) -> tuple[int, int] | None:
    """(prompt, completion) tokens of the last `"usage": {...}` object in `data`, if any
    (OpenAI's `prompt_tokens`/`completion_tokens`, or `input_tokens`/`output_tokens`)."""
    at = data.rfind(_USAGE)
    while at >= 0:
        rest = data[at + len(_USAGE) :].lstrip()
        if rest.startswith(b":"):
            try:
                usage, _ = _decoder.raw_decode(rest[1:].lstrip().decode())
            except (ValueError, UnicodeDecodeError):
                usage = None
            if isinstance(usage, dict):
                prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
                if prompt is None:  # the Responses and Anthropic Messages APIs' names
                    prompt, completion = usage.get("input_tokens"), usage.get("output_tokens")
                if isinstance(prompt, int) and isinstance(completion, int):
                    return prompt, completion
            return None
        at = data.rfind(_USAGE, 0, at)
    return None
