"""The plan against what vLLM's CPU engine really does with the argv production runs.

Each case renders the launch exactly as a replica does (`launch_on_node`: vLLM
argv + engine env), has vLLM's OpenAI-server parser and engine args resolve it
and starts the engine, one at a time in one child process
(tests/planner/engine_child.py: vLLM imported once, the engine core in that
process), and compares vLLM's "KV cache size: N tokens" and its resolved
scheduler values (block size, batched tokens, sequences) with the plan's.
Random-weight checkpoints reproduce the KV geometry of the real 1B and 27B
language models (layers, KV heads, head_dim, window); hidden sizes are tiny
because the KV cache does not depend on them.

The planner's copy of vLLM's scheduler *defaults* is checked on its own:
vLLM resolves an argv without those values and must pick the plan's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gemma_serve.config.models import ModelConfig
from gemma_serve.models.prepare import embedded_checkpoint
from gemma_serve.planner import HostFacts, ModelPlan, launch_on_node, plan_model
from gemma_serve.planner.render import vllm_argv

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_SCHEDULER_FLAGS = ("--block-size", "--max-num-batched-tokens", "--max-num-seqs")

_DEFAULTS = r"""
import json, sys
from gemma_serve.engine.vllm_engine import parse_vllm_args
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.usage.usage_lib import UsageContext

out = []
for argv in json.loads(sys.argv[1]):
    args = AsyncEngineArgs.from_cli_args(parse_vllm_args(argv))
    cfg = args.create_engine_config(usage_context=UsageContext.OPENAI_API_SERVER)
    out.append({
        "block_size": cfg.cache_config.block_size,
        "max_num_batched_tokens": cfg.scheduler_config.max_num_batched_tokens,
        "max_num_seqs": cfg.scheduler_config.max_num_seqs,
    })
print("SCHEDULER " + json.dumps({"resolved": out}), flush=True)
"""


def _embedded() -> Path:
    path = embedded_checkpoint()
    if not (path / "model.safetensors").exists():
        pytest.fail(f"embedded checkpoint not prepared at {path} (gemma-serve models prepare)")
    return path


def _plan(
    variant: str, length: int, kv_gib: int, facts: HostFacts | None = None, **model: Any
) -> ModelPlan:
    config = ModelConfig.model_validate(
        {
            "name": "probe",
            "variant": variant,
            "source": "embedded:gemma-3-270m",
            "max_model_len": length,
            "engine": {"cpu_kv_cache_gib": kv_gib, **model.pop("engine", {})},
            "multimodal": {"max_images_per_prompt": 0},
            **model,
        }
    )
    return plan_model(config, facts or HostFacts(cores_per_node=2))


def _child(script: str, arg: Any) -> str:
    """Run `script` with `arg` as JSON; its whole log (stdout and stderr, interleaved)."""
    return _run([sys.executable, "-c", script, json.dumps(arg)])


def run_engines(cases: list[tuple[list[str], dict[str, str], Any]]) -> list[str]:
    """Each case's log from `tests.planner.engine_child` (one process, engines in turn)."""
    log = _run([sys.executable, "-m", "tests.planner.engine_child", json.dumps(cases)])
    parts = re.split(r"^=== CASE \d+$", log, flags=re.M)[1:]
    print("case seconds:", re.findall(r"^CASE_SECONDS (\S+)$", log, re.M))
    assert len(parts) == len(cases), log[-3000:]
    return parts


def kv_tokens(part: str) -> int:
    """The KV cache size, in tokens, vLLM resolved for one case of `run_engines`."""
    found = re.search(r"^KV_TOKENS (\d+)$", part, re.M)
    assert found, part[-3000:]
    return int(found.group(1))


def _run(cmd: list[str]) -> str:
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.stdout


def _scheduler(log: str) -> dict[str, Any]:
    found = re.search(r"^SCHEDULER (\{.*\})$", log, re.M)
    assert found, log[-3000:]
    return dict(json.loads(found.group(1)))


def _launch(plan: ModelPlan, checkpoint: Path) -> tuple[list[str], dict[str, str]]:
    """The production launch of `plan` on a node with cores 0.., pointed at `checkpoint`."""
    cores = list(range(plan.cpu.cores)) if plan.cpu else []
    launch = launch_on_node(plan, cores=cores, cache_root=Path("/unused"))
    argv = [*launch.vllm_argv]
    argv[argv.index("--model") + 1] = str(checkpoint)
    if not (checkpoint / "tokenizer.json").exists():
        argv += ["--skip-tokenizer-init"]
    return argv, launch.env


def _planned(plan: ModelPlan) -> dict[str, int]:
    sched = plan.engine.scheduler
    return {
        "block_size": sched.block_size,
        "max_num_batched_tokens": sched.max_num_batched_tokens,
        "max_num_seqs": sched.max_num_seqs,
    }


def _random_gemma3(
    out: Path, *, layers: int, heads: int, kv_heads: int, head_dim: int, window: int
) -> Path:
    """A tiny random-weight Gemma3ForCausalLM with a real model's attention geometry."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    types = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(layers)]
    config = Gemma3TextConfig(
        vocab_size=262_144, hidden_size=64, intermediate_size=128, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, head_dim=head_dim,
        query_pre_attn_scalar=head_dim, sliding_window=window, layer_types=types,
        max_position_embeddings=131_072, bos_token_id=2, eos_token_id=1, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    Gemma3ForCausalLM(config).to(torch.bfloat16).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def geometries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random-weight checkpoints with the 1B's and the 27B's KV geometry."""
    root = tmp_path_factory.mktemp("geometry")
    return {
        "1b": _random_gemma3(root / "g3-1b", layers=26, heads=4, kv_heads=1, head_dim=256,
                             window=512),
        "27b": _random_gemma3(root / "g3-27b", layers=62, heads=32, kv_heads=16, head_dim=128,
                              window=1024),
    }  # fmt: skip


def test_production_launch_gives_the_planned_kv_and_scheduler(
    geometries: dict[str, Path], tiny_adapters: dict[str, Path]
) -> None:
    embedded = _embedded()
    lora = {"adapters": [{"name": "a", "source": str(tiny_adapters["tiny-all-r16"])}],
            "max_loras": 4, "max_lora_rank": 64}  # fmt: skip
    cases = [
        ("270m at 2K", _plan("270m", 2048, 1), embedded),
        # Values vLLM would not pick itself: dropping either from the argv changes the result.
        ("270m at 8K, the user's batch limits",
         _plan("270m", 8192, 1, engine={"max_num_seqs": 32, "max_num_batched_tokens": 1024}),
         embedded),
        # One KV head over two CPU ranks: each rank keeps a copy in its own 1 GiB.
        ("270m TP=2", _plan("270m", 4096, 1, tensor_parallel_size=2), embedded),
        ("1B geometry at 16K", _plan("1b", 16384, 1), geometries["1b"]),
        # LoRA buffers live beside the KV cache: on CPU its size is set, so unchanged.
        ("270m at 4K with LoRA", _plan("270m", 4096, 1, lora=lora), embedded),
        ("27B geometry at 8K", _plan("27b", 8192, 4), geometries["27b"]),
    ]  # fmt: skip
    if len(os.sched_getaffinity(0)) < 2:
        pytest.fail("the TP=2 case needs two cores")
    parts = run_engines([(*_launch(plan, ckpt), None) for _, plan, ckpt in cases])
    for (name, plan, _), part in zip(cases, parts, strict=True):
        tokens = kv_tokens(part)
        print(f"{name}: planned {plan.capacity.kv_capacity_tokens} tokens, vLLM reported {tokens}")
        assert _scheduler(part) == _planned(plan), name
        assert tokens == plan.capacity.kv_capacity_tokens, name
    assert kv_tokens(parts[0]) == 55_356  # seen before on this machine


_DEFAULT_CASES: list[tuple[int, int, dict[str, Any]]] = [
    (2048, 1, {}),
    (32768, 1, {}),
    (4096, 2, {}),
    (4096, 1, {"max_num_seqs": 8}),
    (1024, 1, {"enable_chunked_prefill": False}),
]


def test_the_planners_scheduler_defaults_are_vllms() -> None:
    """vLLM resolves each argv with the scheduler values removed: it must pick the plan's."""
    plans, argvs = [], []
    for length, tp, engine in _DEFAULT_CASES:
        plan = _plan("270m", length, 1, tensor_parallel_size=tp, engine=engine)
        argv = vllm_argv(plan, checkpoint=str(_embedded()))
        for flag in _SCHEDULER_FLAGS:
            i = argv.index(flag)
            del argv[i : i + 2]
        if "max_num_seqs" in engine:
            argv += ["--max-num-seqs", str(engine["max_num_seqs"])]
        plans.append(plan)
        argvs.append(argv)
    resolved = _scheduler(_child(_DEFAULTS, argvs))
    assert resolved["resolved"] == [_planned(p) for p in plans]
