"""The gateway's routing: by `model`, with a hint Ray's prefix-aware router can read (pure)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from ray.serve.exceptions import BackPressureError

from gemma_serve.errors import ModelNotFound, Overloaded, RequestError
from gemma_serve.serve.adapter_routes import AdapterRoute, AdapterRoutes
from gemma_serve.serve.gateway import ModelRouter, pick_model, routing_hint

SERVED = AdapterRoutes.of_models(["a", "b"])


def _router_text(hint: SimpleNamespace) -> Any:
    """The attribute lookup of Ray Serve LLM's PrefixCacheAffinityRouter, in its order."""
    for name in ("messages", "prompt"):
        if hasattr(hint, name):
            return getattr(hint, name)
    raise AssertionError("router would find nothing")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"prompt": "Once upon"}, "Once upon"),
        ({"messages": [{"role": "user", "content": "hi"}]}, [{"role": "user", "content": "hi"}]),
        ({"prompt": None}, ""),
        ({}, ""),
    ],
)
def test_hint_exposes_only_what_the_request_has(body: dict[str, Any], text: Any) -> None:
    assert _router_text(routing_hint(body)) == text


@pytest.mark.parametrize(
    ("payload", "error", "status"),
    [
        ([1, 2], RequestError, 400),
        ({"prompt": "hi", "model": 7}, RequestError, 400),
        ({"model": "gpt-4"}, ModelNotFound, 404),
    ],
)
def test_pick_model_refuses_what_it_cannot_route(payload: Any, error: type, status: int) -> None:
    with pytest.raises(error) as info:
        pick_model(payload, SERVED)
    assert info.value.status_code == status


def test_pick_model_names_the_served_model() -> None:
    route = pick_model({"model": "b", "prompt": "x"}, SERVED)
    assert route == AdapterRoute(model="b", multiplexed_model_id=None)


def test_pick_model_sends_an_adapter_to_its_base_model() -> None:
    routes = AdapterRoutes(models=["a", "b"], static={"sql": "a"}, dynamic="b", affinity=True)
    assert pick_model({"model": "sql"}, routes) == AdapterRoute(
        model="a", multiplexed_model_id=None
    )
    # Any other name: the model loading adapters by name, with Ray's affinity id.
    assert pick_model({"model": "poems"}, routes) == AdapterRoute(
        model="b", multiplexed_model_id="poems"
    )


class _Refusing:
    """A deployment handle whose replicas cannot take the request (Ray's back-pressure)."""

    def __init__(self) -> None:
        self.handle_http = self

    def remote(self, *args: Any) -> Any:
        async def stream() -> Any:
            raise BackPressureError(num_queued_requests=1, max_queued_requests=1)
            yield  # pragma: no cover

        return stream()


async def test_back_pressure_from_ray_is_an_overload_503() -> None:
    router = ModelRouter({"a": _Refusing()})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"model": "a"}', "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/v1/completions", "headers": []}
    with pytest.raises(Overloaded) as info:
        await router(scope, receive, lambda m: None)
    assert info.value.status_code == 503 and info.value.retry_after_s == 1
