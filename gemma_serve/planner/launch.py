"""From a validated config to what must be launched: pure, no Ray or vLLM imports.

The vLLM part of a launch is an argv for vLLM's own OpenAI-server parser, so
gemma-serve and a bare `vllm.entrypoints.openai.api_server` started for a
side-by-side benchmark get identical engine settings by construction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.config.loader import EMBEDDED_270M
from gemma_serve.config.models import DeploymentConfig, ModelConfig, MultimodalConfig, ServerConfig
from gemma_serve.planner.capacity import CapacityPlan, plan_capacity

#: Our GPU kinds as Ray accelerator types (ray.util.accelerators; the Helm chart's labels).
_RAY_ACCELERATOR = {
    "l4": "L4", "a10g": "A10G", "a100-40gb": "A100-40G", "a100-80gb": "A100-80G",
    "h100-80gb": "H100", "h200": "H200",
}  # fmt: skip
#: Requests beyond the admission limit Ray still lets in (health, models, metrics).
_PROBE_SLOTS = 16
#: Ray logical CPUs reserved for Serve's controller and HAProxy manager actors.
_CONTROL_PLANE_CPUS = 2


class ModelLaunch(BaseModel):
    """Everything needed to start one model's Ray Serve deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="Served model name (the request's `model`).")
    checkpoint: str = Field(..., description="Resolved checkpoint directory or hub id.")
    vllm_argv: list[str] = Field(..., description="Arguments for vLLM's OpenAI-server parser.")
    env: dict[str, str] = Field(..., description="Environment of the replica and its engine.")
    capacity: CapacityPlan = Field(..., description="The planner's memory and TP decision.")
    max_model_len: int = Field(..., description="Context length in tokens.")
    max_output_tokens: int = Field(..., description="Largest `max_tokens` accepted.")
    max_in_flight: int = Field(..., description="Generation requests one replica admits.")
    retry_after_s: int = Field(..., description="Retry-After of an overload 503.")
    input_modalities: list[str] = Field(..., description="`text`, plus `image` for 4B+.")
    multimodal: MultimodalConfig = Field(..., description="Image limits enforced at the edge.")
    replica_cpus: float = Field(..., description="Ray logical CPUs per replica.")
    replica_gpus: float = Field(..., description="GPUs per replica (TP ranks on GPU).")
    accelerator_type: str | None = Field(
        None, description="Ray accelerator type the replica must land on (GPU kinds)."
    )
    routing: Literal["direct", "prefix_aware", "power_of_two"] = Field(
        ...,
        description="`direct`: one replica, HAProxy reaches it; otherwise the gateway's "
        "request router picks among the replicas.",
    )
    placement_bundles: list[dict[str, float]] = Field(
        ..., description="Ray placement group bundles of one replica (one per TP rank)."
    )
    deployment_options: dict[str, Any] = Field(
        ..., description="Ray Serve deployment options (replicas/autoscaling, limits)."
    )


class LaunchPlan(BaseModel):
    """A whole deployment, ready for the Serve application builder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[ModelLaunch] = Field(..., description="One launch per served model.")
    ray_num_cpus: int = Field(..., description="Logical CPUs for a locally started Ray.")


def resolve_checkpoint(model: ModelConfig, cache_root: Path) -> str:
    """`embedded:gemma-3-270m` -> the prepared directory; anything else unchanged."""
    if model.source == EMBEDDED_270M:
        return str(cache_root / "models" / "gemma-3-270m")
    return model.source


def plan_launch(config: DeploymentConfig, *, host_cpus: int, cache_root: Path) -> LaunchPlan:
    """Plan every model (raises PlanError for what cannot run) and its launch."""
    launches = [
        _plan_model(m, host_cpus=host_cpus, cache_root=cache_root, server=config.server)
        for m in config.models
    ]
    needed = sum(
        launch.replica_cpus * _max_replicas(m)
        for launch, m in zip(launches, config.models, strict=True)
    )
    num_cpus = config.cluster.num_cpus or max(host_cpus, int(needed) + _CONTROL_PLANE_CPUS)
    return LaunchPlan(models=launches, ray_num_cpus=num_cpus)


def _max_replicas(model: ModelConfig) -> int:
    return model.autoscaling.max_replicas


def _plan_model(
    model: ModelConfig, *, host_cpus: int, cache_root: Path, server: ServerConfig
) -> ModelLaunch:
    cores = model.hardware.cpu_cores or host_cpus
    capacity = plan_capacity(model, cpu_count=cores)
    tp = capacity.tensor_parallel_size
    on_cpu = model.hardware.accelerator == "cpu"
    checkpoint = resolve_checkpoint(model, cache_root)
    images = model.variant not in ("270m", "1b")
    return ModelLaunch(
        name=model.name,
        checkpoint=checkpoint,
        vllm_argv=vllm_argv(
            model, checkpoint=checkpoint, tensor_parallel_size=tp, log_requests=server.log_requests
        ),
        env=engine_env(model, cores=cores, tensor_parallel_size=tp, cache_root=cache_root),
        capacity=capacity,
        max_model_len=model.max_model_len,
        max_output_tokens=model.max_output_tokens,
        max_in_flight=model.autoscaling.max_ongoing_requests,
        retry_after_s=model.autoscaling.retry_after_s,
        input_modalities=["text", "image"] if images else ["text"],
        multimodal=model.multimodal,
        replica_cpus=1.0,
        replica_gpus=0.0 if on_cpu else float(tp),
        accelerator_type=None if on_cpu else _RAY_ACCELERATOR[model.hardware.accelerator],
        routing=model.autoscaling.routing if model.autoscaling.max_replicas > 1 else "direct",
        placement_bundles=[{"CPU": 1.0} if on_cpu else {"GPU": 1.0, "CPU": 1.0}] * tp,
        deployment_options=deployment_options(model),
    )


def vllm_argv(
    model: ModelConfig, *, checkpoint: str, tensor_parallel_size: int, log_requests: bool = False
) -> list[str]:
    """The engine and frontend settings of one model, as vLLM CLI arguments.

    Prompts and completions reach the logs only when `log_requests` says so.
    """
    eng = model.engine
    argv = [
        "--model", checkpoint,
        "--served-model-name", model.name,
        "--max-model-len", str(model.max_model_len),
        "--dtype", model.dtype,
        "--tensor-parallel-size", str(tensor_parallel_size),
        "--seed", str(eng.seed),
        "--kv-cache-dtype", eng.kv_cache_dtype,
        "--enable-prefix-caching" if eng.enable_prefix_caching else "--no-enable-prefix-caching",
        "--enable-chunked-prefill" if eng.enable_chunked_prefill else "--no-enable-chunked-prefill",
        "--generation-config", "auto",
        # usage.prompt_tokens_details.cached_tokens: clients see their prefix-cache hits.
        "--enable-prompt-tokens-details",
    ]  # fmt: skip
    if model.tokenizer:
        argv += ["--tokenizer", model.tokenizer]
    if model.hardware.accelerator != "cpu":
        argv += ["--gpu-memory-utilization", str(eng.gpu_memory_utilization)]
    if tensor_parallel_size > 1:
        argv += ["--distributed-executor-backend", "mp"]
    if eng.enforce_eager:
        argv.append("--enforce-eager")
    if eng.max_num_seqs is not None:
        argv += ["--max-num-seqs", str(eng.max_num_seqs)]
    if eng.max_num_batched_tokens is not None:
        argv += ["--max-num-batched-tokens", str(eng.max_num_batched_tokens)]
    if eng.quantization is not None:
        argv += ["--quantization", eng.quantization]
    if model.chat_template:
        argv += ["--chat-template", model.chat_template]
    if log_requests:
        argv += ["--enable-log-requests", "--enable-log-outputs"]
    mm = model.multimodal
    if model.variant not in ("270m", "1b"):
        argv += ["--limit-mm-per-prompt", json.dumps({"image": mm.max_images_per_prompt})]
        argv += ["--mm-processor-kwargs", json.dumps({"do_pan_and_scan": mm.do_pan_and_scan})]
        if mm.allowed_media_domains:
            argv += ["--allowed-media-domains", *mm.allowed_media_domains]
    return argv


def engine_env(
    model: ModelConfig, *, cores: int, tensor_parallel_size: int, cache_root: Path
) -> dict[str, str]:
    """Environment for the engine: its compile cache; on CPU, KV size and the cores it uses.

    vLLM's compile cache lives beside the checkpoints (on Kubernetes, the model
    cache volume), so a restarted replica or a new pod starts warm.

    vLLM's CPU default leaves one core idle and computes on one thread; binding
    every core we were given is what lets gemma-serve use the whole machine.
    Several replicas cannot know their index, so they get a thread count and the
    OS spreads them ("nobind"); one replica binds one core set per TP rank.
    """
    cache = {"VLLM_CACHE_ROOT": str(cache_root / "vllm")}
    if model.hardware.accelerator != "cpu":
        return cache
    env = {**cache, "VLLM_CPU_KVCACHE_SPACE": str(model.engine.cpu_kv_cache_gib)}
    if model.autoscaling.max_replicas > 1:
        env["VLLM_CPU_OMP_THREADS_BIND"] = "nobind"
        env["OMP_NUM_THREADS"] = str(max(1, cores // tensor_parallel_size))
        return env
    per_rank = max(1, cores // tensor_parallel_size)
    ranks = []
    for r in range(tensor_parallel_size):
        lo, hi = r * per_rank, (r + 1) * per_rank - 1
        ranks.append(str(lo) if lo == hi else f"{lo}-{hi}")
    env["VLLM_CPU_OMP_THREADS_BIND"] = "|".join(ranks)
    return env


def deployment_options(model: ModelConfig) -> dict[str, Any]:
    """Ray Serve options: fixed replicas or autoscaling, never Ray's unbounded defaults."""
    auto = model.autoscaling
    # Ray's own limit sits above the edge's admission limit, so overload is always
    # answered by our OpenAI-style 503, and probes still get through.
    opts: dict[str, Any] = {"max_ongoing_requests": auto.max_ongoing_requests + _PROBE_SLOTS}
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
    return opts
