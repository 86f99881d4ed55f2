"""The edge metrics through a real Ray metrics agent, scraped by a real Prometheus.

Two Ray actors stand in for two replicas: each runs the real
EdgeMetricsMiddleware, recording through `ray.util.metrics`, over a small
app that streams like vLLM. The node's metrics agent exports both on one
port. This proves the names, tags and per-replica series the dashboards
query, and that the movement checker of the live test fails when one metric
is silenced (the mutation check, kept as a test). No engine runs here: the
vLLM and Serve series are proven on the real stack (test_live_queries.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.ports import free_port
from gemma_serve.metrics.edge import REJECT_REASONS, SPECS
from tests.metrics.prom.accounting import REQUESTS
from tests.metrics.prom.movement import compare, queried_series, snapshot
from tests.metrics.prom.promcheck import PrometheusServer
from tests.metrics.prom.promql import all_queries

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus"),
]
MODEL = "gemma-3-270m"
#: A test cluster: report every second (gemma-serve keeps Ray's 10 s) so the test is short.
REPORT_MS = 1000


class EdgeReplica:
    """A replica's edge without the engine: the real middleware, Ray metrics, a fake vLLM."""

    def __init__(self, replica: str, silence: tuple[str, ...] = ()) -> None:
        from gemma_serve.api.paths import is_generation
        from gemma_serve.metrics import EdgeMetricsMiddleware, create_edge_metrics

        metrics = create_edge_metrics(replica)
        self.metrics = metrics
        self.model = metrics.for_model(MODEL)
        self.model.set_max_ongoing_requests(4)
        for method in silence:  # the mutation: this metric is no longer recorded
            setattr(self.model, method, lambda *args, **kwargs: None)
        self.app = EdgeMetricsMiddleware(_fake_vllm, metrics=metrics, model=MODEL,
                                         observe=is_generation)  # fmt: skip

    async def load(self, streams: int, seconds: float) -> int:
        """Streams of 200s with usage, one 400, and one refusal of each reason."""
        from gemma_serve.metrics.edge import keep_gauges_fresh

        self.refresher = asyncio.create_task(keep_gauges_fresh(self.metrics, REPORT_MS / 2000))
        for reason in REJECT_REASONS:
            self.model.count_rejected(reason)
        self.model.count_images(2)
        self.model.count_adapter_load()
        self.model.count_adapter_eviction()
        self.model.set_adapters_loaded(1)
        self.metrics.count_key(MODEL, "team-a", "admitted", 40)
        await _call(self.app, "/v1/completions", status=400)
        loop = asyncio.get_running_loop()
        end, done = loop.time() + seconds, 0

        async def stream() -> None:
            nonlocal done
            while loop.time() < end:
                await _call(self.app, "/v1/chat/completions")
                done += 1

        await asyncio.gather(*(stream() for _ in range(streams)))
        return done + 1


async def _fake_vllm(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Streams five chunks 0.1 s apart with a final usage event, like vLLM's chat route."""
    import json

    from starlette.responses import JSONResponse, StreamingResponse

    if scope["query_string"] == b"status=400":
        error = {"error": {"message": "bad", "type": "BadRequestError", "code": 400}}
        await JSONResponse(error, status_code=400)(scope, receive, send)
        return

    async def events() -> Any:
        for text in ("a", "b", "c", "d", "e"):
            await asyncio.sleep(0.1)
            yield f"data: {json.dumps({'choices': [{'delta': {'content': text}}]})}\n\n"
        usage = {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
        yield f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    await StreamingResponse(events(), media_type="text/event-stream")(scope, receive, send)


async def _call(app: Any, path: str, status: int = 200) -> None:
    query = f"status={status}".encode() if status != 200 else b""
    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "state": {},
             "query_string": query}  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


@pytest.fixture(scope="module")
def ray_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray node with metrics collection on; yields its scrape target."""
    import ray

    port = free_port()
    saved = {k: os.environ.get(k) for k in ("RAY_enable_metrics_collection",
                                            "RAY_metrics_report_interval_ms",
                                            "RAY_agent_register_timeout_ms")}  # fmt: skip
    os.environ.update(
        RAY_enable_metrics_collection="1",
        RAY_metrics_report_interval_ms=str(REPORT_MS),
        RAY_agent_register_timeout_ms="120000",
    )  # a loaded CI machine
    temp = Path(tmp_path_factory.mktemp("ray"))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _temp_dir=str(temp),
        _metrics_export_port=port,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}},
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _edge_names() -> set[str]:
    return {n for n in queried_series(all_queries()) if n.startswith("ray_gemma_serve_")}


async def _run(target: str, silence: tuple[str, ...] = ()) -> tuple[Any, dict[str, int], str]:
    """Two replicas under load, a Prometheus before and after: the movement report, the
    requests each replica counted (and made), and the agent's export while they live."""
    import ray

    names = _edge_names()
    splits = {"ray_gemma_serve_requests_rejected_total": ("reason", REJECT_REASONS)}
    actor = ray.remote(EdgeReplica)
    suffix = "-".join(silence) or "all"
    replicas = {f"{r}-{suffix}": actor.remote(f"{r}-{suffix}", silence) for r in ("a", "b")}
    async with PrometheusServer([target]) as prom:
        await prom.wait_until_up(within=60)
        before = await snapshot(prom, names, splits)
        seconds = 6.0
        done = await asyncio.gather(*(r.load.remote(3, seconds) for r in replicas.values()))
        await asyncio.sleep(3 * REPORT_MS / 1000 + 2)  # the agent has the last values
        report = await compare(prom, names, before, splits=splits, load_seconds=seconds + 8)
        counted = {
            r["metric"]["ReplicaId"]: int(float(r["value"][1]))
            for r in await prom.query(f'sum by (ReplicaId) ({REQUESTS}{{model="{MODEL}"}})')
        }
        text = (await prom.http().get(f"http://{target}/metrics")).text
    for handle in replicas.values():  # their gauges leave the export within 2 intervals
        ray.kill(handle)
    counted |= {f"expected {k}": n for k, n in zip(replicas, done, strict=True)}
    return report, counted, text


async def test_every_edge_series_moves_per_replica_through_rays_agent(ray_node: str) -> None:
    report, counted, text = await _run(ray_node)
    assert report.ok, report.summary()
    assert set(report.moved) >= {f"ray_gemma_serve_requests_rejected_total{{reason={r!r}}}"
                                 for r in REJECT_REASONS}  # fmt: skip
    for replica in ("a-all", "b-all"):  # both replicas, told apart, each fully counted
        assert counted[replica] == counted[f"expected {replica}"], counted
    # Every declared metric is exported under its Ray name, with its tags.
    for spec in SPECS:
        name = spec.exported + ("_count" if spec.kind == "histogram" else "")
        lines = [line for line in text.splitlines() if line.startswith(name + "{")]
        assert lines, f"{name} not exported"
        for key in spec.tag_keys:
            assert all(f"{key}=" in line for line in lines), (name, key)


async def test_the_checker_fails_when_one_metric_is_no_longer_recorded(ray_node: str) -> None:
    """The mutation check: `count_rejected` silenced, every reason reads as unmoved."""
    report, _, _ = await _run(ray_node, silence=("count_rejected",))
    assert not report.ok
    assert sorted(u.split(":")[0] for u in report.unmoved) == sorted(
        f"ray_gemma_serve_requests_rejected_total{{reason={r!r}}}" for r in REJECT_REASONS
    ), report.summary()
