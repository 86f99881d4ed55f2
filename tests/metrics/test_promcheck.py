"""The Prometheus harness itself, against a tiny prometheus_client target in this process.

What gemma-serve really exports is checked through Ray's metrics agent
(test_ray_export.py) and on the running stack (test_live_queries.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from tests.metrics.prom.promcheck import PrometheusError, PrometheusServer
from tests.metrics.prom.promql import PromQuery

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="prometheus missing (.ci/run installs the Debian package)"),
]  # fmt: skip


@pytest.fixture
def target() -> Iterator[tuple[str, Counter]]:
    registry = CollectorRegistry()
    counter = Counter("requests", "d", ["model"], registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}", counter
    finally:
        server.shutdown()
        thread.join(5)


async def test_harness_classifies_valid_empty_and_invalid(target: tuple[str, Counter]) -> None:
    address, counter = target
    async with PrometheusServer([address]) as prom:
        await prom.wait_until_up()
        counter.labels("m").inc(3)
        report = await prom.check(
            [PromQuery("data", "sum(rate(requests_total[1m]))"),
             PromQuery("empty", "no_such_metric_total"),
             PromQuery("invalid", "sum(rate(requests_total[1m])"),
             PromQuery("not firing", "vector(1) < 0", expect_data=False)],
            settle=3.0,
        )  # fmt: skip
        assert [q.source for q in report.with_data] == ["data"]
        assert [q.source for q in report.empty] == ["empty"]
        assert [q.source for q, _ in report.invalid] == ["invalid"]
        assert "parse error" in report.invalid[0][1]
        assert not report.ok


async def test_target_that_never_comes_up_is_reported() -> None:
    async with PrometheusServer(["127.0.0.1:9"]) as prom:
        with pytest.raises(PrometheusError, match="targets not up"):
            await prom.wait_until_up(within=3.0)
