"""LoRA adapters behind the one edge, on both shapes (a recording engine, no vLLM, no Ray).

The single-model shape wraps the replica's real `AdapterEdge`; the gateway
shape wraps the real `ModelRouter`, whose stand-in handles replay requests
into replicas running that same `AdapterEdge` (two of them for the model that
loads adapters by name, so admin calls are broadcast).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gemma_serve.api.adapters import AdapterEdge
from gemma_serve.api.edge import build_edge
from gemma_serve.api.errors import ErrorEdge
from gemma_serve.config.keys import ApiKey
from gemma_serve.config.models import DeploymentConfig, ServerConfig
from gemma_serve.metrics import create_edge_metrics
from gemma_serve.planner import HostFacts, ModelPlan, plan_deployment
from gemma_serve.serve.adapter_routes import AdapterRoutes
from gemma_serve.serve.adapters import ReplicaAdapters
from gemma_serve.serve.gateway import ModelRouter
from tests.api.test_adapters import Engine, _adapter
from tests.api.test_edge import KEY, ModelApi, ReplayHandle, call, keyed, openai_error, ready
from tests.metrics.recorder import Recorder

BASE, OTHER, STATIC = "base", "other", "sql"
AUTH = {"authorization": f"Bearer {KEY}"}


def _plans(directory: Path) -> list[ModelPlan]:
    lora = {"adapters": [{"name": STATIC, "source": "/s"}], "directory": str(directory)}
    config = DeploymentConfig.model_validate({"models": [
        {"name": BASE, "variant": "270m", "source": "embedded:gemma-3-270m",
         "hardware": {"cpu_cores": 1}, "lora": lora,
         "autoscaling": {"min_replicas": 2, "max_replicas": 2}},
        {"name": OTHER, "variant": "270m", "source": "embedded:gemma-3-270m",
         "hardware": {"cpu_cores": 1}},
    ]})  # fmt: skip
    return plan_deployment(config, HostFacts(cores_per_node=2)).models


class Replica:
    """One replica of the LoRA model: its adapters around a recording model API."""

    def __init__(self, plan: ModelPlan) -> None:
        assert plan.lora is not None
        self.engine = Engine()
        self.api = ModelApi()
        metrics = create_edge_metrics("r", Recorder()).for_model(plan.name)
        self.adapters = ReplicaAdapters(plan.lora, base=plan.name, engine=self.engine,
                                        metrics=metrics)  # fmt: skip
        self.app = ErrorEdge(AdapterEdge(self.api, adapters=self.adapters))


class MuxHandle(ReplayHandle):
    """A streaming handle that records the multiplexed id each request was sent with."""

    def __init__(self, replica: Replica, ids: list[str | None], mux: str | None = None) -> None:
        super().__init__(replica.app)
        self._replica, self._ids, self._mux = replica, ids, mux

    def options(self, *, multiplexed_model_id: str) -> MuxHandle:
        return MuxHandle(self._replica, self._ids, multiplexed_model_id)

    def remote(self, hint: Any, request: dict[str, Any], body: bytes) -> Any:
        self._ids.append(self._mux)
        return super().remote(hint, request, body)


class Broadcast:
    """`handle.broadcast("call_http", ...)`: the request on every replica, whole answers."""

    def __init__(self, replicas: list[Replica]) -> None:
        self._replicas = replicas

    def broadcast(self, method: str, request: dict[str, Any], body: bytes) -> Broadcast:
        assert method == "call_http"
        self._call = (request, body)
        return self

    async def results_async(self, *, timeout_s: float) -> list[dict[str, Any]]:
        answers = []
        for replica in self._replicas:
            sent: list[dict[str, Any]] = []
            async for message in ReplayHandle(replica.app).remote(None, *self._call):
                sent.append(message)
            answers.append({"status": sent[0]["status"], "headers": sent[0]["headers"],
                            "body": b"".join(m.get("body", b"") for m in sent[1:])})  # fmt: skip
        return answers


def single(tmp_path: Path, keys: list[ApiKey]) -> tuple[Any, list[Replica], list[str | None]]:
    plan = _plans(tmp_path)[0]
    replica = Replica(plan)
    app = build_edge(replica.app, plans=[plan], server=ServerConfig(), keys=keys,
                     readiness=ready(BASE),
                     dynamic_adapters=lambda: replica.adapters.dynamic)  # fmt: skip
    return app, [replica], []


def gateway(tmp_path: Path, keys: list[ApiKey]) -> tuple[Any, list[Replica], list[str | None]]:
    plans = _plans(tmp_path)
    replicas, ids = [Replica(plans[0]), Replica(plans[0])], []
    router = ModelRouter(
        {BASE: MuxHandle(replicas[0], ids), OTHER: ReplayHandle(ModelApi())},
        routes=AdapterRoutes.from_plans(plans),
        unary={BASE: Broadcast(replicas)},
    )
    app = build_edge(router, plans=plans, server=ServerConfig(), keys=keys,
                     readiness=ready(BASE, OTHER))  # fmt: skip
    return app, replicas, ids


SHAPES = pytest.mark.parametrize("shape", [single, gateway], ids=["single", "gateway"])


@SHAPES
async def test_an_unknown_adapter_is_an_openai_404(shape: Any, tmp_path: Path) -> None:
    app, replicas, _ = shape(tmp_path, [])
    r = await call(app, "POST", "/v1/completions", json={"model": "nope", "prompt": "x"})
    err = openai_error(r, 404)
    assert err["message"] == "The model `nope` does not exist." and err["type"] == "model_not_found"
    assert not replicas[0].api.seen


@SHAPES
async def test_a_dynamic_adapter_loads_on_first_use_and_is_listed(
    shape: Any, tmp_path: Path
) -> None:
    _adapter(tmp_path, "poems")
    app, replicas, ids = shape(tmp_path, [])
    r = await call(app, "POST", "/v1/completions", json={"model": "poems", "prompt": "x"})
    assert r.status_code == 200, r.text
    assert replicas[0].adapters.dynamic == ["poems"] and "poems" in replicas[0].engine.loaded
    r = await call(app, "POST", "/v1/completions", json={"model": STATIC, "prompt": "x"})
    assert r.status_code == 200, r.text
    if shape is gateway:  # the adapter's name travels as Ray's multiplexed id; static: none
        assert ids == ["poems", None]
    cards = {c["id"]: c for c in (await call(app, "GET", "/v1/models")).json()["data"]}
    assert cards[BASE]["parent"] is None
    assert (cards[STATIC]["parent"], cards[STATIC]["root"]) == (BASE, "/s")
    if shape is single:  # the ingress is the replica: it lists what it holds
        assert (cards["poems"]["parent"], cards["poems"]["root"]) == (BASE, f"{tmp_path}/poems")


@SHAPES
async def test_admin_calls_are_routes_behind_the_key(shape: Any, tmp_path: Path) -> None:
    _adapter(tmp_path / "v2", "dyn")
    body = {"lora_name": "custom", "lora_path": "v2/dyn"}
    closed, replicas, _ = shape(tmp_path, [])
    r = await call(closed, "POST", "/v1/load_lora_adapter", json=body)
    assert "none is configured" in openai_error(r, 401)["message"]
    app, replicas, _ = shape(tmp_path, keyed(KEY))
    openai_error(await call(app, "POST", "/v1/load_lora_adapter", json=body), 401)
    r = await call(app, "GET", "/v1/load_lora_adapter", headers=AUTH)
    assert openai_error(r, 405) and r.headers["allow"] == "POST"
    r = await call(app, "POST", "/v1/load_lora_adapter", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["loaded"] is True
    assert all(rep.adapters.dynamic == ["custom"] for rep in replicas)
    if shape is gateway:
        assert r.json()["replicas"] == 2
    r = await call(app, "POST", "/v1/unload_lora_adapter", json={"lora_name": "custom"},
                   headers=AUTH)  # fmt: skip
    assert r.status_code == 200 and r.json()["loaded"] is False, r.text
    assert all(rep.adapters.dynamic == [] for rep in replicas)
    r = await call(app, "POST", "/v1/unload_lora_adapter", json={"lora_name": "custom"},
                   headers=AUTH)  # fmt: skip
    assert "not loaded" in openai_error(r, 404)["message"]


async def test_the_gateway_refuses_admin_calls_when_no_model_loads_adapters() -> None:
    router = ModelRouter({OTHER: ReplayHandle(ModelApi())})
    app = build_edge(router, plans=[], server=ServerConfig(), keys=keyed(KEY),
                     readiness=ready())  # fmt: skip
    r = await call(app, "POST", "/v1/load_lora_adapter", json={"lora_name": "x"}, headers=AUTH)
    assert "lora.directory" in openai_error(r, 400)["message"]


def test_listing_is_json(tmp_path: Path) -> None:
    """The cards of a LoRA plan (static adapters) as the gateway serves them."""
    from gemma_serve.api.cards import cards_body

    data = json.loads(cards_body(_plans(tmp_path)))["data"]
    assert [(c["id"], c["parent"]) for c in data] == [(BASE, None), (STATIC, BASE), (OTHER, None)]
