"""The edge metric declarations: names, labels, zero-initialised children, the lead's setters."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from gemma_serve.metrics import ERROR_TYPES, REJECT_REASONS, create_edge_metrics
from gemma_serve.metrics.edge import (
    E2E_BUCKETS,
    ITL_BUCKETS,
    TTFT_BUCKETS,
    error_type_for_status,
)

EXPECTED = {
    "gemma_serve_requests": ("counter", {"model", "status"}),
    "gemma_serve_request_errors": ("counter", {"model", "error_type"}),
    "gemma_serve_requests_in_flight": ("gauge", {"model"}),
    "gemma_serve_requests_queued": ("gauge", {"model"}),
    "gemma_serve_requests_rejected": ("counter", {"model", "reason"}),
    "gemma_serve_time_to_first_token_seconds": ("histogram", {"model"}),
    "gemma_serve_inter_token_latency_seconds": ("histogram", {"model"}),
    "gemma_serve_e2e_request_latency_seconds": ("histogram", {"model"}),
    "gemma_serve_prompt_tokens": ("counter", {"model"}),
    "gemma_serve_generation_tokens": ("counter", {"model"}),
    "gemma_serve_images": ("counter", {"model"}),
    "gemma_serve_replicas": ("gauge", {"model"}),
    "gemma_serve_replicas_desired": ("gauge", {"model"}),
    "gemma_serve_max_ongoing_requests": ("gauge", {"model"}),
}


def populated() -> CollectorRegistry:
    registry = CollectorRegistry()
    metrics = create_edge_metrics(registry)
    model = metrics.for_model("m")
    model.count_request("200")
    model.set_replicas(2, desired=3)
    model.set_max_ongoing_requests(16)
    return registry


def test_declared_families_types_and_labels() -> None:
    families = {f.name: f for f in populated().collect()}
    assert {n: f.type for n, f in families.items()} == {n: t for n, (t, _) in EXPECTED.items()}
    for name, (_, labels) in EXPECTED.items():
        seen = {k for s in families[name].samples for k in s.labels if k != "le"}
        assert seen == labels, name


def test_children_exist_at_zero_before_any_traffic() -> None:
    registry = CollectorRegistry()
    create_edge_metrics(registry).for_model("m")
    get = registry.get_sample_value
    for error_type in ERROR_TYPES:
        assert (
            get("gemma_serve_request_errors_total", {"model": "m", "error_type": error_type}) == 0
        )
    for reason in REJECT_REASONS:
        assert get("gemma_serve_requests_rejected_total", {"model": "m", "reason": reason}) == 0
    assert get("gemma_serve_requests_in_flight", {"model": "m"}) == 0
    assert get("gemma_serve_inter_token_latency_seconds_count", {"model": "m"}) == 0
    # Replica gauges are not invented: zero would fire the no-healthy-replicas alert.
    assert get("gemma_serve_replicas", {"model": "m"}) is None


def test_setters_used_by_the_rest_of_the_stack() -> None:
    registry = CollectorRegistry()
    model = create_edge_metrics(registry).for_model("m")
    model.count_rejected("queue_full")
    model.count_rejected("rate_limited", 3)
    model.count_images(2)
    model.count_images(0)
    model.set_queued(5)
    model.set_replicas(1)
    model.count_error("timeout")
    get = registry.get_sample_value
    assert get("gemma_serve_requests_rejected_total", {"model": "m", "reason": "rate_limited"}) == 3
    assert get("gemma_serve_images_total", {"model": "m"}) == 2
    assert get("gemma_serve_requests_queued", {"model": "m"}) == 5
    assert get("gemma_serve_replicas", {"model": "m"}) == 1
    assert get("gemma_serve_replicas_desired", {"model": "m"}) is None
    assert get("gemma_serve_request_errors_total", {"model": "m", "error_type": "timeout"}) == 1


def test_for_model_is_cached_and_per_model() -> None:
    metrics = create_edge_metrics(CollectorRegistry())
    assert metrics.for_model("a") is metrics.for_model("a")
    assert metrics.for_model("a") is not metrics.for_model("b")


def test_default_registry_is_the_one_vllm_serves() -> None:
    default = inspect.signature(create_edge_metrics).parameters["registry"].default
    assert default is REGISTRY


def test_second_registration_in_one_registry_is_refused() -> None:
    registry = CollectorRegistry()
    create_edge_metrics(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        create_edge_metrics(registry)


def test_importing_registers_nothing() -> None:
    code = (
        "import gemma_serve.metrics, gemma_serve.metrics.promcheck\n"
        "from prometheus_client import REGISTRY\n"
        "print([n for n in REGISTRY._names_to_collectors if n.startswith('gemma_serve')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, None), (204, None), (302, None), (400, "bad_request"), (401, "unauthorized"),
     (404, "not_found"), (413, "too_large"), (422, "bad_request"), (429, "rate_limited"),
     (451, "client_error"), (500, "internal"), (502, "internal"), (503, "unavailable"),
     (504, "timeout")],
)  # fmt: skip
def test_error_type_for_status(status: int, expected: str | None) -> None:
    assert error_type_for_status(status) == expected


def test_buckets_cover_llm_latencies() -> None:
    assert TTFT_BUCKETS[0] <= 0.01 and TTFT_BUCKETS[-1] >= 60
    assert 2.0 in TTFT_BUCKETS  # the TTFT SLO threshold of the alert rules
    assert ITL_BUCKETS[0] <= 0.005 and ITL_BUCKETS[-1] >= 1
    assert E2E_BUCKETS[-1] >= 300
    for buckets in (TTFT_BUCKETS, ITL_BUCKETS, E2E_BUCKETS):
        assert list(buckets) == sorted(set(buckets))


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing (.ci/run installs it)"
)
def test_promtool_lints_the_exposition() -> None:
    text = generate_latest(populated())
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
