"""Every ready profile in configs/ validates and plans; the promised ones exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gemma_serve.config.loader import load_config
from gemma_serve.config.models import ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import CapacityPlan, HostFacts, plan_deployment, plan_model
from gemma_serve.planner.render import vllm_argv

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FILES = sorted(CONFIGS.glob("*.yaml"))
HOST = HostFacts(cores_per_node=2)


def plan_capacity(model: ModelConfig) -> CapacityPlan:
    plan = plan_model(model, HOST)
    assert plan.capacity.fits == (plan.capacity.max_concurrent_full_context >= 1)
    return plan.capacity


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_profile_validates_and_plans(path: Path) -> None:
    plan = plan_deployment(load_config(path, env={}), HOST)
    for model in plan.models:
        assert model.capacity.fits, model.name
        assert model.capacity.kv_capacity_tokens >= model.max_model_len


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_gpu_profiles_are_compiled_unless_they_ask_for_eager(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())["models"]
    plans = plan_deployment(load_config(path, env={}), HOST).models
    for given, plan in zip(raw, plans, strict=True):
        if plan.accelerator.is_cpu:
            continue
        asked = (given.get("engine") or {}).get("enforce_eager", False)
        assert plan.engine.enforce_eager == asked, plan.name
        assert ("--enforce-eager" in vllm_argv(plan, checkpoint="/c")) == asked, plan.name


@pytest.mark.parametrize(
    ("file", "variant", "accelerator", "count", "tp"),
    [
        ("gemma3-1b-l4.yaml", "1b", "l4", 1, 1),
        ("gemma3-4b-l4.yaml", "4b", "l4", 1, 1),
        ("gemma3-12b-a100-80gb.yaml", "12b", "a100-80gb", 1, 1),
        ("gemma3-12b-2xl4.yaml", "12b", "l4", 2, 2),
        ("gemma3-27b-h100.yaml", "27b", "h100-80gb", 1, 1),
        ("gemma3-27b-2xh100.yaml", "27b", "h100-80gb", 2, 2),
        ("gemma3-27b-2xa100-40gb.yaml", "27b", "a100-40gb", 2, 2),
        ("gemma3-270m-cpu-tp2.yaml", "270m", "cpu", 1, 2),
        ("gemma3-12b-fp8-l4.yaml", "12b", "l4", 1, 1),
        ("gemma3-27b-w4a16-l4.yaml", "27b", "l4", 1, 1),
        ("gemma3-27b-fp8-h100.yaml", "27b", "h100-80gb", 1, 1),
    ],
)
def test_promised_profiles(file: str, variant: str, accelerator: str, count: int, tp: int) -> None:
    (model,) = load_config(CONFIGS / file, env={}).models
    assert (model.variant, model.hardware.accelerator, model.hardware.count) == (
        variant,
        accelerator,
        count,
    )
    plan = plan_capacity(model)
    assert plan.tensor_parallel_size == tp
    assert plan.max_concurrent_full_context >= 1


def test_12b_needs_both_l4s_and_27b_2xh100_serves_full_128k() -> None:
    (twelve,) = load_config(CONFIGS / "gemma3-12b-2xl4.yaml", env={}).models
    one_l4 = twelve.model_copy(
        update={
            "hardware": twelve.hardware.model_copy(update={"count": 1}),
            "tensor_parallel_size": "auto",
        }
    )
    with pytest.raises(PlanError, match="does not fit on 1x l4"):
        plan_capacity(one_l4)
    (big,) = load_config(CONFIGS / "gemma3-27b-2xh100.yaml", env={}).models
    assert big.max_model_len == 131_072
    assert plan_capacity(big).max_concurrent_full_context >= 2


def test_quantized_profiles_fit_where_their_bf16_twins_do_not_or_hold_more() -> None:
    """12B FP8 and 27B W4A16 on one L4 (bf16: 2 and 4); 27B FP8 on one H100: >2x the KV."""
    for file, scheme in (("gemma3-12b-fp8-l4.yaml", "FP8_DYNAMIC"),
                         ("gemma3-27b-w4a16-l4.yaml", "W4A16")):  # fmt: skip
        (model,) = load_config(CONFIGS / file, env={}).models
        assert plan_model(model, HOST).engine.weight_scheme == scheme
        bf16 = model.model_copy(
            update={"engine": model.engine.model_copy(update={"quantization": None})}
        )
        with pytest.raises(PlanError, match="does not fit on 1x l4"):
            plan_capacity(bf16)
    (fp8,) = load_config(CONFIGS / "gemma3-27b-fp8-h100.yaml", env={}).models
    (bf16_h100,) = load_config(CONFIGS / "gemma3-27b-h100.yaml", env={}).models
    assert fp8.model_copy(
        update={"source": "x", "engine": fp8.engine.model_copy(update={"quantization": None})}
    ) == bf16_h100.model_copy(update={"source": "x"})
    assert plan_capacity(fp8).kv_capacity_tokens > 2 * plan_capacity(bf16_h100).kv_capacity_tokens
