"""The capacity planner against vLLM's own numbers and Gemma 3's rules."""

from __future__ import annotations

import pytest

from gemma_serve.config.models import EngineConfig, HardwareConfig, ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import CapacityPlan, HostFacts, ModelPlan, plan_model


def _plan(model: ModelConfig, cores: int = 2) -> ModelPlan:
    return plan_model(model, HostFacts(cores_per_node=cores))


def plan_capacity(model: ModelConfig, cpu_count: int = 2) -> CapacityPlan:
    return _plan(model, cpu_count).capacity


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
    plan = _plan(_model("270m", 2048))
    assert plan.capacity.kv_capacity_tokens == 55_356
    assert plan.capacity.max_concurrent_full_context == 27
    assert plan.engine.scheduler.block_size == 128
    assert plan.capacity.kv_cache_bytes == 1024**3


def test_plan_is_frozen_and_typed() -> None:
    plan = _plan(_model("270m", 4096))
    assert isinstance(plan, ModelPlan)
    with pytest.raises(ValueError):
        plan.tensor_parallel_size = 2  # type: ignore[misc]
    with pytest.raises(ValueError):
        plan.capacity.kv_capacity_tokens = 2  # type: ignore[misc]


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


def test_smallest_legal_tp_that_fits_is_chosen() -> None:
    plan = _plan(_model("27b", 8192, "l4", count=8))
    assert plan.tensor_parallel_size == 4
    assert plan.capacity.fits
    assert "uses 4 of the replica's 8 GPUs" in " ".join(plan.capacity.notes)
    assert _plan(_model("1b", 32768, "l4", count=4)).tensor_parallel_size == 1


def test_gpu_kv_is_what_is_left_after_weights_and_overhead() -> None:
    plan = plan_capacity(_model("12b", 32768, "a100-80gb"))
    budget = int(0.9 * 81920 * 1024**2)
    assert plan.kv_cache_bytes == budget - plan.weight_bytes - plan.vision_bytes - (
        plan.overhead_bytes
    )
    more = plan_capacity(_model("12b", 32768, "a100-80gb", engine={"gpu_memory_utilization": 0.95}))
    assert more.kv_capacity_tokens > plan.kv_capacity_tokens
    assert plan.max_concurrent_full_context * 32768 <= plan.kv_capacity_tokens


def test_images_off_drops_the_vision_tower() -> None:
    on = plan_capacity(_model("4b", 8192, "l4"))
    off = plan_capacity(_model("4b", 8192, "l4", multimodal={"max_images_per_prompt": 0}))
    assert on.vision_bytes > 0 and off.vision_bytes == 0
    assert off.kv_cache_bytes > on.kv_cache_bytes


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"variant": "1b", "max_model_len": 65536}, "max_model_len=65536 exceeds gemma-3-1b"),
        (
            {
                "variant": "27b",
                "max_model_len": 4096,
                "accel": "l4",
                "count": 4,
                "tensor_parallel_size": 3,
            },
            "tensor_parallel_size=3 is not legal for gemma-3-27b",
        ),
        (
            {"variant": "1b", "max_model_len": 4096, "multimodal": {"max_images_per_prompt": 1}},
            "gemma-3-1b is text-only",
        ),
        (
            {"variant": "12b", "max_model_len": 4096, "accel": "l4", "tensor_parallel_size": 2},
            "needs 2 GPUs per replica but hardware.count=1",
        ),
        (
            {"variant": "12b", "max_model_len": 131072},
            r"cpu_kv_cache_gib=1 holds .* would work: engine.cpu_kv_cache_gib >= 9",
        ),
    ],
)
def test_what_cannot_work_is_refused_in_one_line(kwargs: dict, pattern: str) -> None:
    variant, length = kwargs.pop("variant"), kwargs.pop("max_model_len")
    with pytest.raises(PlanError, match=pattern) as err:
        plan_capacity(_model(variant, length, **kwargs))
    assert "\n" not in str(err.value)


def test_images_default_to_one_on_4b_and_none_on_text_only_sizes() -> None:
    assert _plan(_model("4b", 8192, "l4")).images.per_prompt == 1
    assert _plan(_model("4b", 8192, "l4")).images.input_modalities == ["text", "image"]
    one_b = _plan(_model("1b", 4096))
    assert one_b.images.per_prompt == 0 and one_b.capacity.vision_bytes == 0
    # A dumped-and-revalidated config (what a replica receives) plans the same.
    dumped = ModelConfig.model_validate(_model("1b", 4096).model_dump(mode="json"))
    assert _plan(dumped) == one_b
    with pytest.raises(PlanError, match="text-only"):
        _plan(_model("1b", 4096, multimodal={"max_images_per_prompt": 3}))


def test_images_off_on_4b_means_text_only_everywhere() -> None:
    off = _plan(_model("4b", 8192, "l4", multimodal={"max_images_per_prompt": 0}))
    assert off.images.input_modalities == ["text"]
    assert off.capacity.vision_bytes == 0


def test_cpu_tp_auto_is_one_and_explicit_tp_needs_cores() -> None:
    assert _plan(_model("270m", 4096)).tensor_parallel_size == 1
    two = _plan(_model("270m", 4096, tensor_parallel_size=2))
    assert two.tensor_parallel_size == 2
    assert two.capacity.kv_cache_bytes == 2 * 1024**3
    with pytest.raises(PlanError, match="needs 4 CPU cores"):
        plan_capacity(_model("270m", 4096, tensor_parallel_size=4), cpu_count=2)


def test_fp8_kv_cache_doubles_capacity() -> None:
    bf16 = plan_capacity(_model("4b", 32768, "l4"))
    fp8 = plan_capacity(_model("4b", 32768, "l4", engine={"kv_cache_dtype": "fp8"}))
    assert fp8.kv_bytes_per_token * 2 == bf16.kv_bytes_per_token
    assert fp8.kv_capacity_tokens == pytest.approx(2 * bf16.kv_capacity_tokens, rel=0.01)
