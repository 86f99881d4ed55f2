"""The planner's LoRA buffer bytes against the tensors vLLM's CPU engine really allocates.

Each case renders the production launch of a plan with LoRA (`launch_on_node`:
vLLM argv + engine env), builds vLLM's engine from that argv in-process
(`VLLM_ENABLE_V1_MULTIPROCESSING=0`, so its model runner is reachable), walks
the model's modules and sums the bytes of every `lora_a_stacked` and
`lora_b_stacked` tensor. They must equal the plan's `lora.buffer_bytes`,
byte for byte: the same arithmetic takes these bytes from the KV cache on GPUs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gemma_serve.catalogue import Gemma3Variant
from gemma_serve.planner.lora import buffer_bytes_per_rank, lora_modules
from tests.planner.test_capacity_vs_vllm import _child, _embedded, _launch, _plan, _random_gemma3

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_ALLOCATED = r"""
import gc, json, os, sys
os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"  # the engine core in this process
from gemma_serve.engine.vllm_engine import parse_vllm_args
from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
from vllm.engine.arg_utils import EngineArgs
from vllm.v1.engine.llm_engine import LLMEngine

for argv, env in json.loads(sys.argv[1]):
    os.environ.update(env)
    engine = LLMEngine.from_engine_args(EngineArgs.from_cli_args(parse_vllm_args(argv)))
    executor = engine.engine_core.engine_core.model_executor
    model = executor.driver_worker.worker.model_runner.model
    total, modules = 0, set()
    for name, module in model.named_modules():
        for attr in ("lora_a_stacked", "lora_b_stacked"):
            for t in getattr(module, attr, None) or ():
                total += t.numel() * t.element_size()
                modules.add(name.rsplit(".", 1)[-1])
    print("ALLOCATED " + json.dumps({"bytes": total, "modules": sorted(modules)}), flush=True)
    engine.engine_core.shutdown()
    del engine, executor, model
    gc.collect()
    cleanup_dist_env_and_memory()
"""


def _variant_of(checkpoint: Path, like: Gemma3Variant) -> Gemma3Variant:
    """`like` with the layer sizes of the checkpoint's config (a random-geometry model)."""
    cfg = json.loads((checkpoint / "config.json").read_text())
    return like.model_copy(update={
        "num_layers": cfg["num_hidden_layers"], "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"], "num_heads": cfg["num_attention_heads"],
        "num_kv_heads": cfg["num_key_value_heads"], "head_dim": cfg["head_dim"],
    })  # fmt: skip


def test_planned_lora_buffers_are_the_bytes_vllm_allocates(
    tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    embedded = _embedded()
    geometry = _random_gemma3(tmp_path / "g3", layers=8, heads=8, kv_heads=2, head_dim=128,
                              window=512)  # fmt: skip
    static = [{"name": "a", "source": str(tiny_adapters["tiny-all-r16"])}]
    cases: list[tuple[str, Any, Path]] = [
        ("270m, 2 slots x rank 16, every module",
         _plan("270m", 2048, 1, lora={"adapters": static, "max_loras": 2, "max_lora_rank": 16}),
         embedded),
        ("270m, 3 slots x rank 8, q_proj + down_proj only",
         _plan("270m", 2048, 1, lora={"directory": str(tmp_path), "max_loras": 3,
                                      "max_lora_rank": 8,
                                      "target_modules": ["q_proj", "down_proj"]}),
         embedded),
        ("8 layers, 8 heads / 2 KV heads, 4 slots x rank 32",
         _plan("1b", 2048, 1, lora={"directory": str(tmp_path), "max_loras": 4,
                                    "max_lora_rank": 32}),
         geometry),
    ]  # fmt: skip
    log = _child(_ALLOCATED, [_launch(plan, ckpt) for _, plan, ckpt in cases])
    found = [json.loads(m) for m in re.findall(r"^ALLOCATED (\{.*\})$", log, re.M)]
    assert len(found) == len(cases), log[-3000:]
    for (name, plan, ckpt), allocated in zip(cases, found, strict=True):
        lora = plan.lora
        expected = lora.buffer_bytes
        if ckpt == geometry:  # the plan is a 1B's; the checkpoint only shares its shape rules
            expected = buffer_bytes_per_rank(
                _variant_of(ckpt, plan.variant), modules=lora_modules(lora.target_modules),
                max_loras=lora.max_loras, max_lora_rank=lora.max_lora_rank, tp=1, dtype_bytes=2,
            )  # fmt: skip
        print(f"{name}: planned {expected} B, vLLM allocated {allocated['bytes']} B")
        assert allocated["modules"] == sorted(lora.modules), name
        assert allocated["bytes"] == expected, name
