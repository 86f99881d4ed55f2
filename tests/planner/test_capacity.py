"""The capacity planner against vLLM's own numbers and Gemma 3's rules."""

from __future__ import annotations

import pytest

from gemma_serve.config.models import EngineConfig, HardwareConfig, ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner.capacity import CapacityPlan, plan_capacity


def _model(
    variant: str, max_model_len: int, accel: str = "cpu", count: int = 1, **kw: object
) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "name": f"gemma-3-{variant}",
            "variant": variant,
            "source": "embedded:gemma-3-270m",
            "max_model_len": max_model_len,
            "hardware": HardwareConfig(accelerator=accel, count=count),  # type: ignore[arg-type]
            **kw,
        }
    )


def test_cpu_270m_matches_vllm_observed_55356_tokens() -> None:
    # Seen on this machine: VLLM_CPU_KVCACHE_SPACE=1 -> "CPU KV cache size: 55,356 tokens".
    plan = plan_capacity(_model("270m", 2048))
    assert plan.kv_capacity_tokens == 55_356
    assert plan.max_concurrent_full_context == 27
    assert plan.block_size == 128
    assert plan.kv_cache_bytes == 1024**3


def test_plan_is_frozen_and_typed() -> None:
    plan = plan_capacity(_model("270m", 4096))
    assert isinstance(plan, CapacityPlan)
    with pytest.raises(ValueError):
        plan.tensor_parallel_size = 2  # type: ignore[misc]


def test_cpu_kv_scales_with_configured_gib() -> None:
    one = plan_capacity(_model("1b", 8192))
    four = plan_capacity(_model("1b", 8192, engine=EngineConfig(cpu_kv_cache_gib=4.0)))
    assert four.kv_cache_bytes == 4 * one.kv_cache_bytes
    assert 3.9 < four.kv_capacity_tokens / one.kv_capacity_tokens < 4.1


def test_27b_on_one_l4_is_refused_with_alternatives() -> None:
    with pytest.raises(PlanError) as err:
        plan_capacity(_model("27b", 4096, "l4"))
    msg = str(err.value)
    assert "\n" not in msg
    assert "27b" in msg and "l4" in msg and "would work" in msg
    assert "4x l4" in msg
