"""Every ready profile in configs/ validates and plans; the promised ones exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_serve.config.loader import load_config
from gemma_serve.errors import PlanError
from gemma_serve.planner.capacity import plan_capacity

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FILES = sorted(CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_profile_validates_and_plans(path: Path) -> None:
    config = load_config(path, env={})
    for model in config.models:
        plan = plan_capacity(model, cpu_count=2)
        assert plan.fits, model.name
        assert plan.kv_capacity_tokens >= model.max_model_len


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
    ],
)
def test_promised_profiles(file: str, variant: str, accelerator: str, count: int, tp: int) -> None:
    (model,) = load_config(CONFIGS / file, env={}).models
    assert (model.variant, model.hardware.accelerator, model.hardware.count) == (
        variant,
        accelerator,
        count,
    )
    plan = plan_capacity(model, cpu_count=2)
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
