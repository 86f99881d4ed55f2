"""The gateway's table of adapter names (pure): which model, and when Ray's affinity id."""

from __future__ import annotations

from typing import Any

import pytest

from gemma_serve.config.models import DeploymentConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import HostFacts, plan_deployment
from gemma_serve.serve.adapter_routes import AdapterRoute, AdapterRoutes

HOST = HostFacts(cores_per_node=2)
MODEL = {"variant": "270m", "source": "embedded:gemma-3-270m", "hardware": {"cpu_cores": 1}}


def _routes(*models: dict[str, Any]) -> AdapterRoutes:
    config = DeploymentConfig.model_validate({"models": [{**MODEL, **m} for m in models]})
    return AdapterRoutes.from_plans(plan_deployment(config, HOST).models)


def test_static_adapters_go_to_their_model_and_unknown_names_to_the_dynamic_one() -> None:
    routes = _routes(
        {"name": "a", "lora": {"adapters": [{"name": "sql", "source": "/s"}]}},
        {"name": "b", "lora": {"directory": "/d"},
         "autoscaling": {"min_replicas": 2, "max_replicas": 2}},
    )  # fmt: skip
    assert routes.route("a") == AdapterRoute(model="a", multiplexed_model_id=None)
    assert routes.route("sql") == AdapterRoute(model="a", multiplexed_model_id=None)
    # Two replicas, affinity on: the name is Ray Serve's multiplexed model id.
    assert routes.route("poems") == AdapterRoute(model="b", multiplexed_model_id="poems")


def test_without_dynamic_adapters_an_unknown_name_goes_nowhere() -> None:
    routes = _routes({"name": "a"}, {"name": "b"})
    assert routes.route("nope") is None


def test_affinity_can_be_turned_off_and_needs_several_replicas() -> None:
    pair = {"min_replicas": 2, "max_replicas": 2}
    off = _routes({"name": "a"}, {"name": "b", "autoscaling": pair,
                                  "lora": {"directory": "/d", "affinity": False}})  # fmt: skip
    assert off.route("x") == AdapterRoute(model="b", multiplexed_model_id=None)
    one = _routes({"name": "a"}, {"name": "b", "lora": {"directory": "/d"}})
    assert one.route("x") == AdapterRoute(model="b", multiplexed_model_id=None)


def test_two_models_loading_adapters_by_name_are_refused() -> None:
    with pytest.raises(PlanError, match="one model per deployment"):
        _routes(
            {"name": "a", "lora": {"directory": "/d"}}, {"name": "b", "lora": {"directory": "/e"}}
        )
