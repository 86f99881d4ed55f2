"""The one edge, built around both inner shapes, answers the same (no engine, no Ray).

The single-model shape wraps a stand-in for the model's API; the gateway shape
wraps the real `ModelRouter` over stand-in handles that replay each request
into that same stand-in, as a replica's `handle_http` does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gemma_serve.api.auth import caller
from gemma_serve.api.edge import build_edge
from gemma_serve.api.health import ReplicaCount
from gemma_serve.config.keys import ApiKey, bare_keys
from gemma_serve.config.loader import load_config
from gemma_serve.config.models import ServerConfig
from gemma_serve.planner import HostFacts, ModelPlan, plan_deployment
from gemma_serve.serve.gateway import ModelRouter
from tests.e2e.test_edge import AUTH_CASES, AUTH_IDS, WRONG_KEY, expected_status

KEY = "k-1"


def keyed(*keys: str) -> list[ApiKey]:
    """Bare API keys, as `load_api_keys` makes them."""
    return bare_keys(list(keys), source="test")


MULTI = Path(__file__).resolve().parents[1] / "e2e" / "multi.yaml"
A, B = "gemma-3-270m-a", "gemma-3-270m-b"


def plans() -> list[ModelPlan]:
    return plan_deployment(load_config(MULTI), HostFacts(cores_per_node=2)).models


class ModelApi:
    """Stands in for a replica's model API: records what reached it, answers 200."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], scope["path"], body, caller(scope)))
        await _send(send, 200, json.dumps({"path": scope["path"]}).encode())


class ReplayHandle:
    """`handle_http.remote(...)` as a model deployment answers it: ASGI messages."""

    def __init__(self, api: ModelApi) -> None:
        self.handle_http = self
        self._api = api

    def remote(self, hint: Any, request: dict[str, Any], body: bytes) -> AsyncIterator[Any]:
        async def messages() -> AsyncIterator[dict[str, Any]]:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await self._api({"type": "http", **request}, receive, send)
            for message in sent:
                yield message

        return messages()


async def _send(send: Any, status: int, body: bytes, kind: bytes = b"application/json") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind)]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def ready(*models: str, n: int = 1) -> Any:
    async def counts() -> dict[str, ReplicaCount]:
        return {m: ReplicaCount(ready=n, replicas=n) for m in models}

    return counts


def single(api: ModelApi, keys: list[ApiKey], readiness: Any = None, **server: Any) -> Any:
    plan = plans()[:1]
    return build_edge(api, plans=plan, server=ServerConfig(**server), keys=keys,
                      readiness=readiness or ready(A))  # fmt: skip


def gateway(api: ModelApi, keys: list[ApiKey], readiness: Any = None, **server: Any) -> Any:
    router = ModelRouter({A: ReplayHandle(api), B: ReplayHandle(api)})
    return build_edge(router, plans=plans(), server=ServerConfig(**server), keys=keys,
                      readiness=readiness or ready(A, B))  # fmt: skip


SHAPES = pytest.mark.parametrize("shape", [single, gateway], ids=["single", "gateway"])


async def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.request(method, path, **kwargs)


def openai_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"], err
    return dict(err)


@SHAPES
@pytest.mark.parametrize(("case", "key"), AUTH_CASES, ids=AUTH_IDS)
async def test_the_auth_matrix(shape: Any, case: tuple[str, str, str, Any], key: str) -> None:
    """The e2e matrix of tests/e2e/test_edge.py, on both shapes without Ray."""
    name, method, path, body = case
    api = ModelApi()
    headers = {"right": {"authorization": f"Bearer {KEY}"},
               "wrong": {"authorization": f"Bearer {WRONG_KEY}"}, "none": {}}[key]  # fmt: skip
    if body is not None:
        body = {k: A if v == "MODEL" else v for k, v in body.items()}
    path = path.replace("MODEL", A)
    r = await call(shape(api, keyed(KEY)), method, path, json=body, headers=headers)
    status = expected_status(name, key)
    if status >= 400:
        openai_error(r, status)
        assert not api.seen, "rejected, yet it reached a model"
    else:
        assert r.status_code == status, r.text


@SHAPES
async def test_a_wrong_method_says_which_it_takes(shape: Any) -> None:
    r = await call(shape(ModelApi(), []), "GET", "/v1/chat/completions")
    assert openai_error(r, 405)["code"] == 405
    assert r.headers["allow"] == "POST"


@SHAPES
async def test_routes_vllm_serves_but_the_api_does_not_are_404(shape: Any) -> None:
    for method, path in (("GET", "/docs"), ("POST", "/scale_elastic_ep"), ("GET", "/version")):
        openai_error(await call(shape(ModelApi(), []), method, path), 404)


@SHAPES
async def test_models_come_from_the_plans(shape: Any) -> None:
    r = await call(shape(ModelApi(), []), "GET", "/v1/models")
    names = [m["id"] for m in r.json()["data"]]
    assert names == ([A] if shape is single else [A, B])


@SHAPES
async def test_one_model_card_by_id_or_a_404_saying_it_does_not_exist(shape: Any) -> None:
    api = ModelApi()
    r = await call(shape(api, []), "GET", f"/v1/models/{A}")
    assert r.status_code == 200
    assert r.json()["id"] == A and r.json()["object"] == "model"
    missing = openai_error(await call(shape(api, []), "GET", "/v1/models/nope"), 404)
    assert "The model `nope` does not exist." in missing["message"]
    openai_error(await call(shape(api, []), "POST", f"/v1/models/{A}"), 405)
    openai_error(await call(shape(api, []), "GET", f"/v1/models/{A}/x"), 404)
    assert api.seen == []  # answered at the edge, from the plans


async def test_a_model_id_with_a_slash_has_its_card() -> None:
    named = [p.model_copy(update={"name": "google/gemma-3-270m"}) for p in plans()[:1]]
    app = build_edge(ModelApi(), plans=named, server=ServerConfig(), keys=[],
                     readiness=ready("google/gemma-3-270m"))  # fmt: skip
    r = await call(app, "GET", "/v1/models/google/gemma-3-270m")
    assert r.status_code == 200 and r.json()["id"] == "google/gemma-3-270m", r.text


@SHAPES
async def test_the_model_hears_which_key_called(shape: Any) -> None:
    api = ModelApi()
    app = shape(api, keyed("other", KEY))
    body, auth = {"model": A, "prompt": "hi"}, {"authorization": f"Bearer {KEY}"}
    r = await call(app, "POST", "/v1/completions", json=body, headers=auth)
    assert r.status_code == 200
    if shape is single:  # behind the gateway, the replica gets the request, not the state
        assert api.seen[-1][3].name == "test-2"  # the second key matched


@SHAPES
async def test_the_body_limit_is_the_edges(shape: Any) -> None:
    api = ModelApi()
    body = json.dumps({"model": A, "prompt": "a" * 4096}).encode()
    r = await call(shape(api, [], max_body_bytes=1024), "POST", "/v1/completions", content=body)
    assert "1024 bytes" in openai_error(r, 413)["message"]
    assert api.seen == []


@SHAPES
@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions", "/tokenize"])
async def test_a_request_without_model_is_400(shape: Any, path: str) -> None:
    api = ModelApi()
    r = await call(shape(api, []), "POST", path, json={"prompt": "hi"})
    assert '"model" is required' in openai_error(r, 400)["message"]
    assert api.seen == []


async def test_the_gateway_routes_by_model_and_refuses_an_unknown_one() -> None:
    api = ModelApi()
    app = gateway(api, [])
    assert (await call(app, "POST", "/v1/completions", json={"model": B})).status_code == 200
    assert api.seen[-1][:2] == ("POST", "/v1/completions")
    assert api.seen[-1][2] == b'{"model":"gemma-3-270m-b"}'  # the body unchanged
    err = openai_error(await call(app, "POST", "/v1/completions", json={"model": "x"}), 404)
    assert err["message"] == "The model `x` does not exist."
    openai_error(await call(app, "POST", "/v1/completions", json={"model": 7}), 400)
    openai_error(await call(app, "POST", "/v1/completions", content=b"[1]"), 400)


@SHAPES
async def test_health_says_how_many_replicas_are_ready(shape: Any) -> None:
    models = [A] if shape is single else [A, B]
    app = shape(ModelApi(), keyed(KEY), readiness=ready(*models, n=2))
    r = await call(app, "GET", "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "models": {m: {"ready": 2, "replicas": 2} for m in models}}


async def test_health_is_503_while_a_model_has_no_ready_replica() -> None:
    async def counts() -> dict[str, ReplicaCount]:
        return {A: ReplicaCount(ready=1, replicas=1), B: ReplicaCount(ready=0, replicas=1)}

    r = await call(gateway(ModelApi(), [], readiness=counts), "GET", "/health")
    assert openai_error(r, 503)["message"] == f"no ready replica: {B} (0 of 1)"
    assert r.json()["models"][B] == {"ready": 0, "replicas": 1}
    assert r.json()["status"] == "unavailable"


@SHAPES
async def test_health_is_503_when_the_counts_cannot_be_read(shape: Any) -> None:
    async def broken() -> dict[str, ReplicaCount]:
        raise ConnectionError("controller gone")

    r = await call(shape(ModelApi(), [], readiness=broken), "GET", "/health")
    assert "ConnectionError" in openai_error(r, 503)["message"]


@SHAPES
async def test_metrics_is_a_404_naming_the_scrape_target_without_a_key(shape: Any) -> None:
    api = ModelApi()
    r = await call(shape(api, keyed(KEY), metrics_port=9999), "GET", "/metrics")
    message = openai_error(r, 404)["message"]
    assert "metrics agent" in message and "9999" in message, message
    assert api.seen == []


class BrokenApi(ModelApi):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise KeyError("boom")


@SHAPES
async def test_an_unexpected_failure_is_an_openai_500(shape: Any) -> None:
    r = await call(shape(BrokenApi(), []), "POST", "/v1/completions", json={"model": A})
    assert openai_error(r, 500)["type"] == "internal_error"
    assert "boom" not in r.text  # the log has it, the client does not
