"""EdgeMetricsMiddleware over small Starlette apps that answer like vLLM's OpenAI routes.

The apps are Starlette's own StreamingResponse/JSONResponse, driven through
plain ASGI calls, so what is measured is the middleware's view of real
responses: status, chunk timing, usage, disconnects and errors. Values are
read from an in-memory stand-in for `ray.util.metrics` (tests/metrics/recorder.py);
the per-chunk cost is measured with the real Ray metrics.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from gemma_serve.api.paths import is_generation
from gemma_serve.metrics import EdgeMetricsMiddleware, create_edge_metrics
from gemma_serve.metrics.middleware import usage_from_json
from tests.metrics.recorder import Recorder

MODEL = "gemma-3-270m"
USAGE = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


def sse(obj: Any) -> str:
    return f"data: {json.dumps(obj)}\n\n"


def chunk(text: str) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }


def streaming_app(events: list[tuple[float, str]]) -> Callable[..., Any]:
    """Yields each event after its delay, like vLLM's chat stream generator."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def body() -> AsyncIterator[str]:
            for delay, event in events:
                await asyncio.sleep(delay)
                yield event

        await StreamingResponse(body(), media_type="text/event-stream")(scope, receive, send)

    return app


def json_app(payload: Any, status: int = 200, delay: float = 0.0) -> Callable[..., Any]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(delay)
        await JSONResponse(payload, status_code=status)(scope, receive, send)

    return app


class Client:
    """Calls an ASGI app the way a server would and records what reaches the socket."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[tuple[float, Message]] = []
        self.disconnect = asyncio.Event()

    async def post(self, path: str = "/v1/chat/completions", method: str = "POST") -> None:
        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": method, "path": path, "raw_path": path.encode(),
            "root_path": "", "scheme": "http", "query_string": b"", "headers": [],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": b"{}", "more_body": False}
            await self.disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            self.sent.append((time.perf_counter(), message))

        await self.app(scope, receive, send)

    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for _, m in self.sent if m["type"] == "http.response.body"
        )


@pytest.fixture
def registry() -> Recorder:
    return Recorder()


def wrap(app: Any, registry: Any) -> EdgeMetricsMiddleware:
    """`registry`: a Recorder, or `ray.util.metrics` itself."""
    return EdgeMetricsMiddleware(
        app, metrics=create_edge_metrics("r1", registry), model=MODEL, observe=is_generation
    )


def value(registry: Recorder, name: str, **labels: str) -> float:
    """Read like a Prometheus sample name: `x_total`, `x_count`, `x_sum`, `x_bucket{le}`."""
    labels = {"model": MODEL, **labels}
    for suffix in ("_count", "_sum", "_bucket"):
        if name.endswith(suffix):
            base = name.removesuffix(suffix)
            if suffix == "_bucket":
                le = float(labels.pop("le"))
                return registry.bucket(base, le, **labels)
            seen = registry.observed(base, **labels)
            return len(seen) if suffix == "_count" else sum(seen)
    return registry.value(name.removesuffix("_total"), **labels)


async def test_stream_measures_ttft_itl_e2e_and_usage(registry: Recorder) -> None:
    events = [(0.20, sse({"choices": [{"delta": {"role": "assistant"}}]}))]
    events += [(0.05, sse(chunk(f"t{i}"))) for i in range(4)]
    events += [(0.0, sse({"choices": [], "usage": USAGE})), (0.0, "data: [DONE]\n\n")]
    client = Client(wrap(streaming_app(events), registry))
    await client.post()

    assert value(registry, "gemma_serve_requests_total", status="200") == 1
    assert value(registry, "gemma_serve_time_to_first_token_seconds_count") == 1
    ttft = value(registry, "gemma_serve_time_to_first_token_seconds_sum")
    assert 0.19 <= ttft < 0.35
    # 7 events -> 6 gaps; the gap that delivered [DONE] is not a token gap.
    assert value(registry, "gemma_serve_inter_token_latency_seconds_count") == 5
    assert value(registry, "gemma_serve_inter_token_latency_seconds_bucket", le="0.04") == 1
    assert value(registry, "gemma_serve_inter_token_latency_seconds_bucket", le="0.15") == 5
    e2e = value(registry, "gemma_serve_e2e_request_latency_seconds_sum")
    assert ttft + 0.19 <= e2e < ttft + 0.4
    assert value(registry, "gemma_serve_prompt_tokens_total") == 11
    assert value(registry, "gemma_serve_generation_tokens_total") == 3
    assert value(registry, "gemma_serve_requests_in_flight") == 0
    assert value(registry, "gemma_serve_request_errors_total", error_type="internal") == 0


async def test_chunks_pass_through_unchanged_and_unbuffered(registry: Recorder) -> None:
    events = [(0.05, sse(chunk(str(i)))) for i in range(5)] + [(0.0, "data: [DONE]\n\n")]
    plain, measured = Client(streaming_app(events)), Client(wrap(streaming_app(events), registry))
    await plain.post()
    await measured.post()
    assert [m for _, m in measured.sent] == [m for _, m in plain.sent]
    times = [t for t, m in measured.sent if m.get("body", b"").startswith(b"data: {")]
    assert len(times) == 5
    assert all(later - earlier >= 0.04 for earlier, later in itertools.pairwise(times))


async def test_usage_from_request_state_when_stream_has_none(
    registry: Recorder,
) -> None:
    """vLLM stores the final usage on request.state even without stream_options.include_usage."""
    inner = streaming_app([(0.0, sse(chunk("a"))), (0.0, "data: [DONE]\n\n")])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        usage = SimpleNamespace(prompt_tokens=7, completion_tokens=5)
        Request(scope).state.request_metadata = SimpleNamespace(final_usage_info=usage)
        await inner(scope, receive, send)

    await Client(wrap(app, registry)).post("/v1/completions")
    assert value(registry, "gemma_serve_prompt_tokens_total") == 7
    assert value(registry, "gemma_serve_generation_tokens_total") == 5


async def test_non_streaming_json(registry: Recorder) -> None:
    payload = {"choices": [{"text": '"usage": 1'}], "usage": {**USAGE, "completion_tokens": 9}}
    await Client(wrap(json_app(payload, delay=0.1), registry)).post("/v1/completions")
    assert value(registry, "gemma_serve_requests_total", status="200") == 1
    assert value(registry, "gemma_serve_time_to_first_token_seconds_sum") >= 0.09
    assert value(registry, "gemma_serve_inter_token_latency_seconds_count") == 0
    assert value(registry, "gemma_serve_generation_tokens_total") == 9


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, "bad_request"), (404, "not_found"), (429, "rate_limited"), (503, "unavailable"),
     (500, "internal"), (418, "client_error")],
)  # fmt: skip
async def test_error_status(registry: Recorder, status: int, error_type: str) -> None:
    error = {"error": {"message": "no", "type": "BadRequestError", "code": status}}
    await Client(wrap(json_app(error, status=status), registry)).post()
    assert value(registry, "gemma_serve_requests_total", status=str(status)) == 1
    assert value(registry, "gemma_serve_request_errors_total", error_type=error_type) == 1
    assert value(registry, "gemma_serve_e2e_request_latency_seconds_count") == 0
    assert value(registry, "gemma_serve_time_to_first_token_seconds_count") == 0


async def test_error_event_inside_a_stream(registry: Recorder) -> None:
    error = {"error": {"message": "engine died", "type": "InternalServerError", "code": 500}}
    events = [(0.0, sse(chunk("a"))), (0.0, sse(error)), (0.0, "data: [DONE]\n\n")]
    await Client(wrap(streaming_app(events), registry)).post()
    assert value(registry, "gemma_serve_requests_total", status="200") == 1
    assert value(registry, "gemma_serve_request_errors_total", error_type="stream_error") == 1
    assert value(registry, "gemma_serve_e2e_request_latency_seconds_count") == 0


async def test_app_exception_counts_as_internal_and_propagates(
    registry: Recorder,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await Client(wrap(app, registry)).post()
    assert value(registry, "gemma_serve_requests_total", status="500") == 1
    assert value(registry, "gemma_serve_request_errors_total", error_type="internal") == 1
    assert value(registry, "gemma_serve_requests_in_flight") == 0


async def test_client_disconnect_mid_stream(registry: Recorder) -> None:
    events = [(0.0, sse(chunk("a")))] + [(0.2, sse(chunk("b")))] * 10
    client = Client(wrap(streaming_app(events), registry))
    task = asyncio.create_task(client.post())
    await asyncio.sleep(0.1)
    client.disconnect.set()  # Starlette's listen_for_disconnect cancels the stream
    await asyncio.wait_for(task, 2.0)
    assert value(registry, "gemma_serve_requests_total", status="499") == 1
    assert (
        value(registry, "gemma_serve_request_errors_total", error_type="client_disconnected") == 1
    )
    assert value(registry, "gemma_serve_requests_in_flight") == 0


async def test_cancelled_request_counts_as_disconnect(registry: Recorder) -> None:
    client = Client(wrap(streaming_app([(5.0, sse(chunk("a")))]), registry))
    task = asyncio.create_task(client.post())
    await asyncio.sleep(0.05)
    assert value(registry, "gemma_serve_requests_in_flight") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (
        value(registry, "gemma_serve_request_errors_total", error_type="client_disconnected") == 1
    )
    assert value(registry, "gemma_serve_requests_in_flight") == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/models"), ("GET", "/v1/completions"), ("POST", "/v1/embeddings"),
     ("GET", "/metrics")],
)  # fmt: skip
async def test_other_routes_are_not_measured(registry: Recorder, method: str, path: str) -> None:
    client = Client(wrap(json_app({"ok": True}), registry))
    await client.post(path, method=method)
    assert client.body() == b'{"ok":true}'
    assert value(registry, "gemma_serve_requests_total", status="200") == 0


def test_usage_from_json() -> None:
    assert usage_from_json(b'{"usage": {"prompt_tokens": 1, "completion_tokens": 2}}') == (1, 2)
    assert usage_from_json(b'{"usage":{"prompt_tokens":1,"completion_tokens":2}}') == (1, 2)
    text = b'{"choices":[{"text":"\\"usage\\": {\\"prompt_tokens\\": 99}"}]}'
    assert usage_from_json(text) is None
    assert usage_from_json(b'{"usage": null}') is None
    assert usage_from_json(b"data: [DONE]") is None
    # /v1/responses and /v1/messages count with their own names.
    assert usage_from_json(b'{"usage": {"input_tokens": 3, "output_tokens": 4}}') == (3, 4)


async def test_per_chunk_work_is_one_record_and_no_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """A streamed chunk costs one inter-token record and no JSON decoding: the edge never
    parses what it forwards (the time it adds is benchmarked against bare vLLM, not here)."""
    from gemma_serve.metrics import middleware

    decoded: list[str] = []

    class CountingDecoder(json.JSONDecoder):
        def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
            decoded.append(s)
            return super().raw_decode(s, idx)

    monkeypatch.setattr(middleware, "_decoder", CountingDecoder())
    monkeypatch.setattr(middleware.json, "loads", lambda *a, **k: decoded.append("loads"))
    body = sse(chunk("token")).encode()
    chunks = 500

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": 200,
                 "headers": [(b"content-type", b"text/event-stream")]}  # fmt: skip
        await send(start)
        for _ in range(chunks):
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def sink(message: Message) -> None:
        return None

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    registry = Recorder()
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "state": {}}
    await wrap(app, registry)(scope, receive, sink)
    assert value(registry, "gemma_serve_time_to_first_token_seconds_count") == 1
    assert value(registry, "gemma_serve_inter_token_latency_seconds_count") == chunks - 1
    assert decoded == []
