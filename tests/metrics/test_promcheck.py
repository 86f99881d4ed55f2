"""The live proof harness against a real Prometheus scraping a tiny local target.

The target is a prometheus_client HTTP server in this process exposing the
edge metrics, fed by the real middleware. It tests the harness and every
gemma-serve query; the vLLM queries need the running stack (the lead's test).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from gemma_serve.api.paths import is_generation
from gemma_serve.metrics import EdgeMetrics, EdgeMetricsMiddleware, create_edge_metrics
from gemma_serve.metrics.promcheck import PrometheusError, PrometheusServer
from gemma_serve.metrics.promql import PromQuery, all_queries, metric_names

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="prometheus missing (.ci/run installs the Debian package)"),
]  # fmt: skip
MODEL = "gemma-3-270m"
USAGE = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}


@pytest.fixture
def target() -> Iterator[tuple[str, EdgeMetrics]]:
    registry = CollectorRegistry()
    metrics = create_edge_metrics(registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}", metrics
    finally:
        server.shutdown()
        thread.join(5)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Streams like vLLM's chat route; `fail` in the path answers 500."""

    async def events() -> Any:
        for text in ("Hel", "lo", "!"):
            await asyncio.sleep(0.01)
            yield f"data: {json.dumps({'choices': [{'delta': {'content': text}}]})}\n\n"
        yield f"data: {json.dumps({'choices': [], 'usage': USAGE})}\n\n"
        yield "data: [DONE]\n\n"

    if "fail" in scope["path"]:
        await JSONResponse({"error": {"message": "x"}}, status_code=500)(scope, receive, send)
    else:
        await StreamingResponse(events(), media_type="text/event-stream")(scope, receive, send)


async def request(middleware: EdgeMetricsMiddleware, path: str) -> None:
    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "state": {}}
    received = False

    async def receive() -> Message:
        nonlocal received
        if received:  # a client that stays connected
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        return None

    await middleware(scope, receive, send)


async def load(metrics: EdgeMetrics) -> None:
    middleware = EdgeMetricsMiddleware(app, metrics=metrics, model=MODEL, observe=is_generation)
    model = metrics.for_model(MODEL)
    model.set_replicas(1, desired=2)
    model.set_max_ongoing_requests(8)
    model.set_queued(3)
    model.count_images(1)
    model.count_rejected("queue_full")
    for _ in range(8):
        await request(middleware, "/v1/chat/completions")
    await request(middleware, "/v1/fail/chat/completions")


def uses_vllm(query: PromQuery) -> bool:
    return any(name.startswith("vllm:") for name in metric_names(query.expr))


async def test_harness_classifies_valid_empty_and_invalid(target: tuple[str, EdgeMetrics]) -> None:
    address, metrics = target
    async with PrometheusServer([address]) as prom:
        await prom.wait_until_up()
        await load(metrics)
        report = await prom.check(
            [PromQuery("data", "sum(rate(gemma_serve_requests_total[1m]))"),
             PromQuery("empty", "no_such_metric_total"),
             PromQuery("invalid", "sum(rate(gemma_serve_requests_total[1m])"),
             PromQuery("not firing", "vector(1) < 0", expect_data=False)],
            settle=3.0,
        )  # fmt: skip
        assert [q.source for q in report.with_data] == ["data"]
        assert [q.source for q in report.empty] == ["empty"]
        assert [q.source for q, _ in report.invalid] == ["invalid"]
        assert "parse error" in report.invalid[0][1]
        assert not report.ok


async def test_every_dashboard_and_rule_query_under_load(target: tuple[str, EdgeMetrics]) -> None:
    address, metrics = target
    async with PrometheusServer([address]) as prom:
        await prom.wait_until_up()
        for _ in range(3):  # traffic across several scrapes so rates and quantiles are real
            await load(metrics)
            await asyncio.sleep(1.2)
        queries = all_queries()
        report = await prom.check(queries, settle=4.0)
        print(report.summary())
        assert not report.invalid, report.summary()
        edge_empty = [q for q in report.empty if not uses_vllm(q)]
        assert not edge_empty, report.summary()
        edge_nan = [q for q in report.nan_only if not uses_vllm(q)]
        assert not edge_nan, report.summary()
        # Only the engine's series are missing here: they come from the running stack.
        assert all(uses_vllm(q) for q in report.empty)
        assert len(report.with_data) >= 40
        assert await prom.rule_errors() == {}


async def test_target_that_never_comes_up_is_reported() -> None:
    async with PrometheusServer(["127.0.0.1:9"]) as prom:
        with pytest.raises(PrometheusError, match="targets not up"):
            await prom.wait_until_up(within=3.0)
