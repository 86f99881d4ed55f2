"""The LoRA part of the plan: config rules, vLLM's flags, the buffer arithmetic (pure).

The arithmetic is checked against what the real engine allocates in
tests/planner/test_lora_vs_vllm.py; here: its structure (TP split, module
filter, GPU KV taken) and the rules a config must meet.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gemma_serve import catalogue
from gemma_serve.config.models import DeploymentConfig, ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import HostFacts, plan_model
from gemma_serve.planner.lora import buffer_bytes_per_rank, lora_modules
from gemma_serve.planner.render import vllm_argv

HOST = HostFacts(cores_per_node=2)


def _model(lora: dict[str, Any] | None, **model: Any) -> ModelConfig:
    return ModelConfig.model_validate(
        {"name": "base", "variant": "270m", "source": "embedded:gemma-3-270m", "lora": lora,
         **model}
    )  # fmt: skip


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_argv_carries_vllms_lora_flags_and_static_adapters_with_their_base() -> None:
    plan = plan_model(
        _model({"adapters": [{"name": "sql", "source": "/a/sql"}], "max_loras": 3,
                "max_lora_rank": 32, "target_modules": ["q_proj", "down_proj"]}),
        HOST,
    )  # fmt: skip
    argv = vllm_argv(plan, checkpoint="/c")
    assert "--enable-lora" in argv
    assert _flag(argv, "--max-loras") == "3"
    assert _flag(argv, "--max-lora-rank") == "32"
    assert _flag(argv, "--max-cpu-loras") == "3"  # max(max_loras, 1 static)
    i = argv.index("--lora-target-modules")
    assert argv[i + 1 : i + 3] == ["q_proj", "down_proj"]
    assert _flag(argv, "--lora-modules") == (
        '{"name": "sql", "path": "/a/sql", "base_model_name": "base"}'
    )


def test_no_lora_no_flags() -> None:
    argv = vllm_argv(plan_model(_model(None), HOST), checkpoint="/c")
    assert not [a for a in argv if "lora" in a]


def test_dynamic_adapters_get_max_loras_slots_beside_the_static_ones_by_default() -> None:
    lora = plan_model(
        _model({"adapters": [{"name": "a", "source": "/a"}], "directory": "/d", "max_loras": 2}),
        HOST,
    ).lora
    assert lora is not None
    assert (lora.max_cpu_loras, lora.dynamic_slots) == (3, 2)


def test_target_modules_pick_vllms_packed_modules() -> None:
    assert lora_modules(None) == ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
    assert lora_modules(["v_proj"]) == ["qkv_proj"]  # q, k and v share one packed layer
    assert lora_modules(["up_proj", "o_proj"]) == ["o_proj", "gate_up_proj"]


def test_buffers_scale_with_slots_rank_and_modules() -> None:
    v = catalogue.variant("270m")
    one = buffer_bytes_per_rank(v, modules=["o_proj"], max_loras=1, max_lora_rank=8, tp=1,
                                dtype_bytes=2)  # fmt: skip
    # o_proj: A (8 x 4 heads * 256) + B (640 x 8), per layer, 18 layers, bf16.
    assert one == (8 * 1024 + 640 * 8) * 18 * 2
    four = buffer_bytes_per_rank(v, modules=["o_proj"], max_loras=2, max_lora_rank=16, tp=1,
                                 dtype_bytes=2)  # fmt: skip
    assert four == 4 * one


def test_tensor_parallel_splits_the_sharded_side_of_each_buffer() -> None:
    """Column-parallel layers keep the full input (A), row-parallel the full output (B)."""
    v = catalogue.variant("4b")  # 8 heads, 4 KV heads, head_dim 256, hidden 2560
    kw: dict[str, Any] = {"max_loras": 1, "max_lora_rank": 16, "dtype_bytes": 2}
    tp1 = buffer_bytes_per_rank(v, modules=["qkv_proj"], tp=1, **kw)
    tp2 = buffer_bytes_per_rank(v, modules=["qkv_proj"], tp=2, **kw)
    a = 3 * 16 * 2560  # A is never split (column parallel)
    assert tp1 == (a + (8 * 256 + 2 * 4 * 256) * 16) * 34 * 2
    assert tp2 == (a + (4 * 256 + 2 * 2 * 256) * 16) * 34 * 2
    down1 = buffer_bytes_per_rank(v, modules=["down_proj"], tp=1, **kw)
    down2 = buffer_bytes_per_rank(v, modules=["down_proj"], tp=2, **kw)
    assert down1 - down2 == 16 * (10240 // 2) * 34 * 2  # only A (the input) is split


def test_on_a_gpu_the_buffers_come_out_of_the_kv_cache() -> None:
    gpu = {"variant": "4b", "hardware": {"accelerator": "l4"}, "max_model_len": 8192}
    lora = {"adapters": [{"name": "a", "source": "/a"}], "max_loras": 4, "max_lora_rank": 64}
    without = plan_model(_model(None, **gpu), HOST).capacity
    with_lora = plan_model(_model(lora, **gpu), HOST).capacity
    assert with_lora.lora_bytes > 0
    assert without.kv_cache_bytes - with_lora.kv_cache_bytes == with_lora.lora_bytes
    assert with_lora.kv_capacity_tokens < without.kv_capacity_tokens
    assert any(n.startswith("LoRA: ") and "KV cache" in n for n in with_lora.notes)


def test_on_cpu_the_kv_cache_is_set_and_lora_does_not_change_it() -> None:
    lora = {"adapters": [{"name": "a", "source": "/a"}], "max_lora_rank": 64}
    without = plan_model(_model(None), HOST).capacity
    with_lora = plan_model(_model(lora), HOST).capacity
    assert with_lora.kv_capacity_tokens == without.kv_capacity_tokens
    assert with_lora.lora_bytes > 0


@pytest.mark.parametrize(
    ("lora", "words"),
    [
        ({}, "static adapters, a dynamic directory"),
        ({"directory": "/d", "max_loras": 4, "max_cpu_loras": 2}, "must be >= max_loras"),
        ({"adapters": [{"name": "a", "source": "/a"}] * 2}, "repeated: a"),
        ({"adapters": [{"name": "a", "source": "/a"}], "directory": "/d", "max_cpu_loras": 1,
          "max_loras": 1},
         "max_cpu_loras >= 2"),
        ({"directory": "/d", "max_lora_rank": 12}, "max_lora_rank"),
        ({"directory": "/d", "target_modules": ["lm_head"]}, "target_modules"),
    ],
)  # fmt: skip
def test_impossible_lora_configs_say_why(lora: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        _model(lora)


def test_an_adapter_name_means_one_thing_in_a_deployment() -> None:
    model = {"variant": "270m", "source": "embedded:gemma-3-270m"}
    with pytest.raises(ValidationError, match="repeated: other"):
        DeploymentConfig.model_validate({"models": [
            {"name": "base", **model, "lora": {"adapters": [{"name": "other", "source": "/a"}]}},
            {"name": "other", **model},
        ]})  # fmt: skip


def test_more_adapters_per_batch_than_sequences_is_refused() -> None:
    with pytest.raises(PlanError, match="max_loras=8 exceeds the 4 sequences"):
        plan_model(_model({"directory": "/d", "max_loras": 8}, engine={"max_num_seqs": 4}), HOST)


@pytest.mark.parametrize(
    ("lora", "routing"),
    [
        (None, "prefix_aware"),
        ({"adapters": [{"name": "a", "source": "/a"}]}, "prefix_aware"),  # static: no ids
        ({"directory": "/adapters"}, "power_of_two"),  # honours multiplexed ids on its own
        ({"directory": "/adapters", "affinity": False}, "prefix_aware"),
    ],
)
def test_adapter_affinity_routes_with_the_multiplex_aware_router(
    lora: dict[str, Any] | None, routing: str
) -> None:
    auto = {"min_replicas": 2, "max_replicas": 2}
    plan = plan_model(_model(lora, autoscaling=auto, hardware={"cpu_cores": 1}), HOST)
    assert plan.routing == routing
