"""Renderers of a `ModelPlan`: the vLLM argv, the engine env, Ray Serve's options.

Each is a plain function of the plan (and, for what depends on the node, of the
node-local facts the replica resolved): nothing here decides a setting.
The vLLM part is an argv for vLLM's own OpenAI-server parser, so gemma-serve
and a bare `vllm.entrypoints.openai.api_server` started with the same argv get
identical engine settings by construction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gemma_serve.planner.lora import LoraPlan
from gemma_serve.planner.plan import PROBE_SLOTS, ModelPlan
from gemma_serve.planner.tools import template_on_node


def vllm_argv(plan: ModelPlan, *, checkpoint: str) -> list[str]:
    """The engine and frontend settings of one model, as vLLM CLI arguments.

    Every scheduler value the plan's KV arithmetic used is passed, so vLLM
    sizes its cache exactly as planned. Prompts and completions reach the logs
    only when `engine.log_requests` says so.
    """
    eng, sched = plan.engine, plan.engine.scheduler
    argv = [
        "--model", checkpoint,
        "--served-model-name", plan.name,
        "--max-model-len", str(plan.max_model_len),
        "--dtype", eng.dtype,
        "--tensor-parallel-size", str(plan.tensor_parallel_size),
        "--seed", str(eng.seed),
        "--kv-cache-dtype", eng.kv_cache_dtype,
        "--block-size", str(sched.block_size),
        "--max-num-batched-tokens", str(sched.max_num_batched_tokens),
        "--max-num-seqs", str(sched.max_num_seqs),
        "--enable-prefix-caching" if eng.enable_prefix_caching else "--no-enable-prefix-caching",
        "--enable-chunked-prefill" if eng.enable_chunked_prefill else "--no-enable-chunked-prefill",
        "--generation-config", "auto",
        # usage.prompt_tokens_details.cached_tokens: clients see their prefix-cache hits.
        "--enable-prompt-tokens-details",
        "--scheduling-policy", eng.scheduling_policy,
    ]  # fmt: skip
    if plan.tokenizer:
        argv += ["--tokenizer", plan.tokenizer]
    if eng.gpu_memory_utilization is not None:
        argv += ["--gpu-memory-utilization", str(eng.gpu_memory_utilization)]
    if plan.tensor_parallel_size > 1:
        # CPU ranks are processes of the replica; GPU ranks are Ray workers placed in
        # the replica's placement group bundles (as Ray Serve LLM runs them).
        backend = "mp" if plan.accelerator.is_cpu else "ray"
        argv += ["--distributed-executor-backend", backend]
    if eng.enforce_eager:
        argv.append("--enforce-eager")
    if eng.quantization is not None:
        argv += ["--quantization", eng.quantization]
    template = template_on_node(plan.chat_template)
    if template:
        argv += ["--chat-template", template]
    if plan.tools is not None:
        # `auto` parsed by the parser; `required` and named calls constrained by vLLM's
        # structured output (the JSON schema of the tools), whatever the parser.
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", plan.tools.parser]
    if eng.compact_json:
        compact = {"backend": "xgrammar", "disable_any_whitespace": True}
        argv += ["--structured-outputs-config", json.dumps(compact)]
    if eng.log_requests:
        argv += ["--enable-log-requests", "--enable-log-outputs"]
    if plan.lora is not None:
        argv += lora_argv(plan.lora, base=plan.name)
    if plan.variant.multimodal:
        # 0 when images are off: vLLM then skips the vision tower entirely.
        mm = plan.images.limits
        argv += ["--limit-mm-per-prompt", json.dumps({"image": plan.images.per_prompt})]
        if plan.images.enabled:
            argv += ["--mm-processor-kwargs", json.dumps({"do_pan_and_scan": mm.do_pan_and_scan})]
            if mm.allowed_media_domains:
                argv += ["--allowed-media-domains", *mm.allowed_media_domains]
    return argv


def lora_argv(lora: LoraPlan, *, base: str) -> list[str]:
    """vLLM's LoRA flags: buffers as planned, static adapters loaded at start.

    Static adapters go through vLLM's own `--lora-modules` (JSON form, so each
    names its base model); dynamic ones are added at run time by the replica.
    """
    argv = [
        "--enable-lora",
        "--max-loras", str(lora.max_loras),
        "--max-lora-rank", str(lora.max_lora_rank),
        "--max-cpu-loras", str(lora.max_cpu_loras),
    ]  # fmt: skip
    if lora.target_modules:
        argv += ["--lora-target-modules", *lora.target_modules]
    if lora.adapters:
        argv += ["--lora-modules"]
        argv += [
            json.dumps({"name": a.name, "path": a.source, "base_model_name": base})
            for a in lora.adapters
        ]
    return argv


def omp_binding(plan: ModelPlan, cores: Sequence[int]) -> str:
    """VLLM_CPU_OMP_THREADS_BIND for these claimed cores: one core list per TP rank."""
    if plan.cpu is None:
        raise ValueError(f"{plan.name} does not run on the CPU engine")
    if len(cores) != plan.cpu.cores:
        raise ValueError(f"{plan.name} binds {plan.cpu.cores} cores, got {len(cores)}")
    per = plan.cpu.cores_per_rank
    ranks = [sorted(cores[r * per : (r + 1) * per]) for r in range(plan.cpu.ranks)]
    return "|".join(_core_list(rank) for rank in ranks)


def _core_list(cores: list[int]) -> str:
    """`0-3` for a run, `0,2` otherwise: the cpulist form vLLM's CPU worker parses."""
    if cores == list(range(cores[0], cores[-1] + 1)) and len(cores) > 1:
        return f"{cores[0]}-{cores[-1]}"
    return ",".join(map(str, cores))


def engine_env(plan: ModelPlan, *, cores: Sequence[int] = ()) -> dict[str, str]:
    """Environment of the engine: on CPU, its KV size and the cores its threads use.

    vLLM's CPU default leaves one core idle and computes on one thread; binding
    every core the replica reserved is what lets gemma-serve use them all.
    """
    if plan.engine.cpu_kv_cache_gib is None:
        return {}
    return {
        "VLLM_CPU_KVCACHE_SPACE": str(plan.engine.cpu_kv_cache_gib),
        "VLLM_CPU_OMP_THREADS_BIND": omp_binding(plan, cores),
    }


def deployment_options(plan: ModelPlan) -> dict[str, Any]:
    """Ray Serve options: fixed replicas or autoscaling, never Ray's unbounded defaults."""
    auto = plan.autoscaling
    # Ray's own limit sits above the edge's admission limit, so overload is always
    # answered by our OpenAI-style 503, and probes still get through.
    opts: dict[str, Any] = {"max_ongoing_requests": plan.max_in_flight + PROBE_SLOTS}
    if auto.min_replicas == auto.max_replicas:
        opts["num_replicas"] = auto.min_replicas
    else:
        opts["autoscaling_config"] = {
            "min_replicas": auto.min_replicas,
            "max_replicas": auto.max_replicas,
            "initial_replicas": auto.initial_replicas
            if auto.initial_replicas is not None
            else auto.min_replicas,
            "target_ongoing_requests": auto.target_ongoing_requests,
            "upscale_delay_s": auto.upscale_delay_s,
            "downscale_delay_s": auto.downscale_delay_s,
        }
    res = plan.resources
    if res.placement_bundles:
        opts["placement_group_bundles"] = res.placement_bundles
        opts["placement_group_strategy"] = "STRICT_PACK"
    return opts


def actor_options(plan: ModelPlan) -> dict[str, Any]:
    """The replica actor's Ray resources: exactly what its engine binds."""
    res = plan.resources
    options: dict[str, Any] = {"num_cpus": res.num_cpus}
    if res.num_gpus:
        options["num_gpus"] = res.num_gpus
    if res.accelerator_type:
        options["accelerator_type"] = res.accelerator_type
    return options
