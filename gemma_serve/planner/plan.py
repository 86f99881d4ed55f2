"""The resolved plan: each model decided once, into one frozen object.

`plan_deployment` is the only place a deployment's settings are decided. Every
consumer renders a `ModelPlan` and decides nothing again: the vLLM argv and
engine env (`render`, on the node where the replica runs), the Ray Serve
deployment options, the model card, the image policy at the edge and the Helm
chart's checks. What depends on the node a replica lands on (which cores it
binds, where its checkpoint is) is not here: the replica resolves it on its
node (`gemma_serve.planner.node`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator, Gemma3Variant
from gemma_serve.catalogue._quant import CpuFeature
from gemma_serve.config.models import (
    AutoscalingConfig,
    DeploymentConfig,
    ModelConfig,
    MultimodalConfig,
    ServerConfig,
)
from gemma_serve.errors import PlanError
from gemma_serve.planner import quant
from gemma_serve.planner.capacity import CapacityPlan
from gemma_serve.planner.fit import fit_model
from gemma_serve.planner.lora import LoraPlan, resolve_lora
from gemma_serve.planner.memory import dtype_bytes
from gemma_serve.planner.scheduler import SchedulerSettings
from gemma_serve.planner.tools import ToolsPlan, resolve_tools

#: How a request picks a replica (`direct`: one replica, HAProxy reaches it).
Routing = Literal["direct", "prefix_aware", "power_of_two"]

#: The CPU engine runs eager unless asked: its compile cache does not reload on this stack.
CPU_EAGER_DEFAULT = True
#: Requests beyond the admission limit Ray still lets in (health, models, metrics).
PROBE_SLOTS = 16


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostFacts(_Frozen):
    """What the planner is told about the machines replicas run on."""

    cores_per_node: int = Field(
        ..., ge=1, description="CPU cores of a node (locally: this machine's usable cores)."
    )
    cpu_features: tuple[CpuFeature, ...] = Field(
        (),
        description="x86 features of the nodes' CPUs that vLLM's CPU kernels test for "
        "(`avx512`, `avx512_bf16`, `amx`); empty: AVX2 only. Decides which quantized "
        "formats and KV dtypes the CPU engine can run.",
    )


class EnginePlan(_Frozen):
    """vLLM engine settings of one replica, every default resolved."""

    dtype: str = Field(..., description="Weight and activation dtype.")
    kv_cache_dtype: str = Field(..., description="KV-cache element type.")
    quantization: str | None = Field(
        ..., description="vLLM `--quantization` method of the checkpoint, if quantized."
    )
    weight_scheme: str = Field(
        ..., description="Weight format the plan sized (`bf16` or an llm-compressor scheme)."
    )
    enforce_eager: bool = Field(..., description="Whether torch.compile/CUDA graphs are off.")
    enable_prefix_caching: bool = Field(..., description="Reuse KV blocks of shared prefixes.")
    enable_chunked_prefill: bool = Field(..., description="Split long prefills across steps.")
    seed: int = Field(..., description="Engine random seed.")
    gpu_memory_utilization: float | None = Field(
        ..., description="Fraction of GPU memory vLLM may use (None on CPU)."
    )
    cpu_kv_cache_gib: int | None = Field(
        ..., description="KV-cache GiB per rank on the CPU engine (None on GPU)."
    )
    scheduler: SchedulerSettings = Field(
        ..., description="Block size and batch limits, passed to vLLM as planned."
    )
    log_requests: bool = Field(..., description="Whether vLLM logs requests and outputs.")
    scheduling_policy: str = Field(
        ..., description="vLLM `--scheduling-policy`: `priority` honours API-key priorities."
    )
    compact_json: bool = Field(
        ..., description="Structured outputs as compact JSON (xgrammar, no free whitespace)."
    )


class ImagesPlan(_Frozen):
    """Whether a model takes images, and within which limits."""

    per_prompt: int = Field(..., ge=0, description="Images allowed in one request (0: off).")
    limits: MultimodalConfig = Field(..., description="The edge's image limits.")

    @property
    def enabled(self) -> bool:
        """Whether requests may carry images."""
        return self.per_prompt > 0

    @property
    def input_modalities(self) -> list[str]:
        """What `/v1/models` advertises."""
        return ["text", "image"] if self.enabled else ["text"]


class CpuBinding(_Frozen):
    """How one replica's engine uses CPU cores: one OpenMP core set per TP rank."""

    ranks: int = Field(..., ge=1, description="TP ranks, each with its own core set.")
    cores_per_rank: int = Field(..., ge=1, description="Cores each rank's threads are bound to.")

    @property
    def cores(self) -> int:
        """Cores the replica reserves and binds."""
        return self.ranks * self.cores_per_rank


class ReplicaResources(_Frozen):
    """What Ray reserves for one replica, so replicas never share what they bind."""

    num_cpus: float = Field(..., ge=0, description="Ray CPUs of the replica actor.")
    num_gpus: float = Field(..., ge=0, description="GPUs of the replica actor (TP=1).")
    accelerator_type: str | None = Field(
        ..., description="Ray accelerator type the replica must land on (GPU kinds)."
    )
    placement_bundles: list[dict[str, float]] = Field(
        ..., description="One bundle per TP rank when TP > 1 (empty: no placement group)."
    )


class ModelPlan(_Frozen):
    """One model, resolved: everything downstream renders this and decides nothing."""

    name: str = Field(..., description="Served model name (the request's `model`).")
    variant: Gemma3Variant = Field(..., description="The Gemma 3 size's architecture facts.")
    flavour: Literal["pt", "it"] = Field(..., description="Pretrained or instruction-tuned.")
    source: str = Field(..., description="Checkpoint as configured (resolved on the node).")
    tokenizer: str | None = Field(..., description="Tokenizer location if not the checkpoint's.")
    chat_template: str | None = Field(
        ...,
        description="Chat template (a path, or `builtin:<file>` resolved on the node); None: "
        "the checkpoint's own. With tools on, the tool template.",
    )
    max_model_len: int = Field(..., description="Context length in tokens.")
    max_output_tokens: int = Field(..., description="Largest `max_tokens` accepted.")
    accelerator: Accelerator = Field(..., description="The device kind of each rank.")
    tensor_parallel_size: int = Field(..., description="TP ranks per replica.")
    engine: EnginePlan = Field(..., description="vLLM engine settings.")
    images: ImagesPlan = Field(..., description="Image policy.")
    cpu: CpuBinding | None = Field(..., description="CPU core policy (None on GPUs).")
    resources: ReplicaResources = Field(..., description="Ray resources per replica.")
    max_in_flight: int = Field(..., description="Generation requests one replica admits.")
    retry_after_s: int = Field(..., description="Retry-After of an overload 503.")
    autoscaling: AutoscalingConfig = Field(..., description="Replica counts and autoscaling.")
    routing: Routing = Field(
        ...,
        description="`direct`: one replica, HAProxy reaches it; otherwise the gateway's "
        "request router picks among the replicas.",
    )
    capacity: CapacityPlan = Field(..., description="Memory and KV arithmetic at this plan.")
    lora: LoraPlan | None = Field(None, description="LoRA adapters and buffers (None: off).")
    tools: ToolsPlan | None = Field(None, description="Tool calling (None: off).")

    @property
    def max_replicas(self) -> int:
        """Most replicas this model may run."""
        return self.autoscaling.max_replicas


class DeploymentPlan(_Frozen):
    """A whole deployment, resolved: what the Serve application is built from."""

    models: list[ModelPlan] = Field(..., description="One plan per served model.")
    server: ServerConfig = Field(..., description="The HTTP edge's settings.")

    @property
    def single_ingress(self) -> bool:
        """One model on one replica: it is the ingress, no gateway hop."""
        return len(self.models) == 1 and self.models[0].routing == "direct"


def plan_deployment(config: DeploymentConfig, host: HostFacts) -> DeploymentPlan:
    """Plan every model (a PlanError names the model and what would work)."""
    models = []
    for model in config.models:
        try:
            models.append(plan_model(model, host, log_requests=config.server.log_requests))
        except PlanError as exc:
            raise PlanError(f"model {model.name!r}: {exc}") from None
    dynamic = [m.name for m in models if m.lora is not None and m.lora.dynamic]
    if len(dynamic) > 1:
        raise PlanError(
            f"models {', '.join(dynamic)} all load LoRA adapters by name (lora.directory); "
            "one model per deployment may, so an unknown name has one place to go"
        )
    return DeploymentPlan(models=models, server=config.server)


def plan_model(model: ModelConfig, host: HostFacts, *, log_requests: bool = False) -> ModelPlan:
    """Resolve one model: rules, images, compiled or eager, cores, TP, scheduler, resources."""
    variant = catalogue.variant(model.variant)
    device = catalogue.accelerator(model.hardware.accelerator)
    catalogue.check_dtype(variant, model.dtype)
    quant.check(model, variant, device, host.cpu_features)
    catalogue.check_context(variant, model.max_model_len)
    catalogue.check_output(variant, model.max_output_tokens)
    images = _images_per_prompt(model, variant)
    catalogue.check_images(variant, images)
    eager = model.engine.enforce_eager
    if eager is None:
        eager = CPU_EAGER_DEFAULT if device.is_cpu else False
    cores = _replica_cores(model, host) if device.is_cpu else 0
    fit = fit_model(model, variant, device, images=images, compiled=not eager, cores=cores)
    tp = fit.tensor_parallel_size
    quant.check_tensor_parallel(model, variant, tp)
    cpu = None
    if device.is_cpu:
        if cores % tp:
            raise PlanError(
                f"hardware.cpu_cores={cores} does not split evenly over tensor_parallel_size={tp}"
            )
        cpu = CpuBinding(ranks=tp, cores_per_rank=cores // tp)
    eng = model.engine
    auto = model.autoscaling
    lora = resolve_lora(model.lora, variant, tp=tp, dtype_bytes=dtype_bytes(model.dtype))
    if lora and lora.max_loras > fit.scheduler.max_num_seqs:
        raise PlanError(
            f"lora.max_loras={lora.max_loras} exceeds the {fit.scheduler.max_num_seqs} "
            "sequences one batch holds (engine.max_num_seqs)"
        )
    tools, chat_template = resolve_tools(model)
    return ModelPlan(
        name=model.name,
        variant=variant,
        flavour=model.flavour,
        source=model.source,
        tokenizer=model.tokenizer,
        chat_template=chat_template,
        max_model_len=model.max_model_len,
        max_output_tokens=model.max_output_tokens,
        accelerator=device,
        tensor_parallel_size=tp,
        engine=EnginePlan(
            dtype=model.dtype,
            kv_cache_dtype=eng.kv_cache_dtype,
            quantization=eng.quantization.method if eng.quantization else None,
            weight_scheme=quant.weight_scheme(model).name,
            enforce_eager=eager,
            enable_prefix_caching=eng.enable_prefix_caching,
            enable_chunked_prefill=eng.enable_chunked_prefill,
            seed=eng.seed,
            gpu_memory_utilization=None if device.is_cpu else eng.gpu_memory_utilization,
            cpu_kv_cache_gib=eng.cpu_kv_cache_gib if device.is_cpu else None,
            scheduler=fit.scheduler,
            log_requests=log_requests,
            scheduling_policy=eng.scheduling_policy,
            compact_json=eng.compact_json,
        ),
        images=ImagesPlan(per_prompt=images, limits=model.multimodal),
        cpu=cpu,
        resources=_resources(device, tp, cpu),
        max_in_flight=auto.max_ongoing_requests,
        retry_after_s=auto.retry_after_s,
        autoscaling=auto,
        routing=_routing(auto, lora),
        capacity=fit.capacity,
        lora=lora,
        tools=tools,
    )


def _routing(auto: AutoscalingConfig, lora: LoraPlan | None) -> Routing:
    """How a request picks a replica. With dynamic adapters routed by affinity, Ray's
    power-of-two router: it honours a multiplexed id on its own, while the prefix-aware
    one keeps it only when the prompt's prefix also matches (otherwise any replica)."""
    if auto.max_replicas == 1:
        return "direct"
    if lora is not None and lora.dynamic and lora.affinity:
        return "power_of_two"
    return auto.routing


def _images_per_prompt(model: ModelConfig, variant: Gemma3Variant) -> int:
    """Unset: one image on 4B+, none on the text-only sizes; set: as given."""
    given = model.multimodal.max_images_per_prompt
    if given is None:
        return 1 if variant.multimodal else 0
    return given


def _replica_cores(model: ModelConfig, host: HostFacts) -> int:
    cores = model.hardware.cpu_cores or host.cores_per_node
    if cores > host.cores_per_node:
        raise PlanError(
            f"hardware.cpu_cores={cores} exceeds the {host.cores_per_node} cores of a node"
        )
    return cores


def _resources(device: Accelerator, tp: int, cpu: CpuBinding | None) -> ReplicaResources:
    """CPU: the cores the engine binds (per rank in the placement group); GPU: one per rank."""
    if cpu is not None:
        per_rank = float(cpu.cores_per_rank)
        bundles = [{"CPU": per_rank}] * tp if tp > 1 else []
        return ReplicaResources(
            num_cpus=per_rank if tp > 1 else float(cpu.cores),
            num_gpus=0.0,
            accelerator_type=None,
            placement_bundles=bundles,
        )
    bundles = [{"GPU": 1.0, "CPU": 1.0}] * tp if tp > 1 else []
    return ReplicaResources(
        num_cpus=1.0,
        num_gpus=0.0 if tp > 1 else 1.0,
        accelerator_type=device.ray_name,
        placement_bundles=bundles,
    )
