"""The edge metric declarations: names, kinds, tags, and the setters the edge code calls."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gemma_serve.metrics import REJECT_REASONS, create_edge_metrics
from gemma_serve.metrics.edge import (
    E2E_BUCKETS,
    ITL_BUCKETS,
    SPECS,
    TTFT_BUCKETS,
    error_type_for_status,
)
from tests.metrics.recorder import Recorder

EXPECTED = {
    "gemma_serve_requests": ("counter", {"model", "status", "ReplicaId"}),
    "gemma_serve_request_errors": ("counter", {"model", "error_type", "ReplicaId"}),
    "gemma_serve_requests_in_flight": ("gauge", {"model", "ReplicaId"}),
    "gemma_serve_requests_rejected": ("counter", {"model", "reason", "ReplicaId"}),
    "gemma_serve_time_to_first_token_seconds": ("histogram", {"model", "ReplicaId"}),
    "gemma_serve_inter_token_latency_seconds": ("histogram", {"model", "ReplicaId"}),
    "gemma_serve_e2e_request_latency_seconds": ("histogram", {"model", "ReplicaId"}),
    "gemma_serve_prompt_tokens": ("counter", {"model", "ReplicaId"}),
    "gemma_serve_generation_tokens": ("counter", {"model", "ReplicaId"}),
    "gemma_serve_images": ("counter", {"model", "ReplicaId"}),
    "gemma_serve_max_ongoing_requests": ("gauge", {"model", "ReplicaId"}),
    "gemma_serve_lora_adapter_loads": ("counter", {"model", "ReplicaId"}),
    "gemma_serve_lora_adapter_evictions": ("counter", {"model", "ReplicaId"}),
    "gemma_serve_lora_adapters_loaded": ("gauge", {"model", "ReplicaId"}),
    "gemma_serve_key_requests": ("counter", {"model", "key", "outcome", "ReplicaId"}),
    "gemma_serve_key_tokens_charged": ("counter", {"model", "key", "ReplicaId"}),
}


def test_declared_names_kinds_and_tags() -> None:
    recorder = Recorder()
    create_edge_metrics("r1", recorder)
    kinds = {name: type(m).__name__.strip("_").lower() for name, m in recorder.declared.items()}
    assert kinds == {n: k for n, (k, _) in EXPECTED.items()}
    for name, (_, tags) in EXPECTED.items():
        assert set(recorder.declared[name].tag_keys) == tags, name


def test_exported_names_follow_rays_exporter() -> None:
    """Ray prefixes `ray_`, counters get `_total` (checked live in test_ray_export.py)."""
    exported = {s.name: s.exported for s in SPECS}
    assert exported["gemma_serve_requests"] == "ray_gemma_serve_requests_total"
    assert exported["gemma_serve_requests_in_flight"] == "ray_gemma_serve_requests_in_flight"
    assert exported["gemma_serve_time_to_first_token_seconds"] == (
        "ray_gemma_serve_time_to_first_token_seconds"
    )


def test_nothing_is_invented_before_traffic() -> None:
    """Only real values: the in-flight count (0) and, once set, the admission limit."""
    recorder = Recorder()
    model = create_edge_metrics("r1", recorder).for_model("m")
    assert recorder.value("gemma_serve_requests_in_flight", model="m", ReplicaId="r1") == 0
    assert dict(recorder.values["gemma_serve_requests_in_flight"])  # the series exists
    for name in ("gemma_serve_requests", "gemma_serve_request_errors",
                 "gemma_serve_requests_rejected", "gemma_serve_images",
                 "gemma_serve_lora_adapter_loads", "gemma_serve_lora_adapter_evictions",
                 "gemma_serve_lora_adapters_loaded", "gemma_serve_key_requests",
                 "gemma_serve_key_tokens_charged"):  # fmt: skip
        assert not recorder.values[name], name
    model.set_max_ongoing_requests(8)
    assert recorder.value("gemma_serve_max_ongoing_requests", model="m") == 8


def test_setters_used_by_the_rest_of_the_stack() -> None:
    recorder = Recorder()
    model = create_edge_metrics("r1", recorder).for_model("m")
    for reason in REJECT_REASONS:
        model.count_rejected(reason)
    model.count_rejected("overloaded")
    model.count_images(2)
    model.count_images(0)
    model.count_tokens(5, 0)
    model.count_error("timeout")
    model.request_started()
    model.count_adapter_load()
    model.count_adapter_load()
    model.count_adapter_eviction()
    model.set_adapters_loaded(1)
    get = recorder.value
    assert get("gemma_serve_requests_rejected", reason="overloaded") == 2
    assert get("gemma_serve_requests_rejected", reason="too_large") == 1
    assert get("gemma_serve_requests_rejected", reason="unauthorized") == 1
    assert get("gemma_serve_images", model="m", ReplicaId="r1") == 2
    assert get("gemma_serve_prompt_tokens") == 5 and get("gemma_serve_generation_tokens") == 0
    assert get("gemma_serve_request_errors", error_type="timeout") == 1
    assert get("gemma_serve_requests_in_flight") == 1
    assert get("gemma_serve_lora_adapter_loads", model="m", ReplicaId="r1") == 2
    assert get("gemma_serve_lora_adapter_evictions", model="m") == 1
    assert get("gemma_serve_lora_adapters_loaded", model="m") == 1


async def test_gauges_are_set_again_so_rays_agent_keeps_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ray exports a gauge only when set and drops it two report intervals later."""
    import asyncio

    from gemma_serve.metrics.edge import keep_gauges_fresh
    from tests.metrics import recorder as rec

    sets: list[str] = []
    original = rec._Gauge.set

    def counting_set(self: rec._Gauge, value: float, tags: dict[str, str] | None = None) -> None:
        sets.append(self.name)
        original(self, value, tags)

    monkeypatch.setattr(rec._Gauge, "set", counting_set)
    recorder = Recorder()
    metrics = create_edge_metrics("r1", recorder)
    model = metrics.for_model("m")
    model.set_max_ongoing_requests(8)
    model.request_started()
    model.set_adapters_loaded(2)
    sets.clear()
    task = asyncio.create_task(keep_gauges_fresh(metrics, period_s=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    assert sets.count("gemma_serve_requests_in_flight") >= 3
    assert sets.count("gemma_serve_max_ongoing_requests") >= 3
    assert sets.count("gemma_serve_lora_adapters_loaded") >= 3
    assert recorder.value("gemma_serve_lora_adapters_loaded") == 2
    assert recorder.value("gemma_serve_requests_in_flight") == 1
    assert recorder.value("gemma_serve_max_ongoing_requests") == 8


def test_reject_reasons_are_the_ones_the_edge_produces() -> None:
    assert set(REJECT_REASONS) == {"overloaded", "too_large", "unauthorized"}


def test_for_model_is_cached_and_per_model() -> None:
    metrics = create_edge_metrics("r1", Recorder())
    assert metrics.for_model("a") is metrics.for_model("a")
    assert metrics.for_model("a") is not metrics.for_model("b")


def test_the_replica_tag_defaults_to_the_serve_replica() -> None:
    """Outside a Serve replica it is empty, as vLLM's Ray wrappers leave it."""
    assert create_edge_metrics(backend=Recorder()).replica == ""


def test_importing_creates_no_metric_and_imports_no_ray() -> None:
    code = "import sys, gemma_serve.metrics\nprint('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


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
