"""Capacity planning: will a Gemma 3 config fit, at which TP, with how much KV.

Pure functions from a `ModelConfig` to a `CapacityPlan`; no Ray or vLLM
imports. The KV model mirrors vLLM 0.32's hybrid KV cache manager (see
`gemma_serve.planner.kv`); the non-KV memory model is in
`gemma_serve.planner.memory`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator, Gemma3Variant
from gemma_serve.catalogue._hardware import GiB
from gemma_serve.config.models import ModelConfig, MultimodalConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import memory
from gemma_serve.planner.engine_defaults import resolve_scheduler
from gemma_serve.planner.kv import kv_layout


class CapacityPlan(BaseModel):
    """How one replica of a model uses its devices, as vLLM will size it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: str = Field(..., description="Gemma 3 size planned (`270m` ... `27b`).")
    accelerator: str = Field(..., description="Device kind of each rank (`cpu` or a GPU).")
    max_model_len: int = Field(..., description="Context length planned for, in tokens.")
    tensor_parallel_size: int = Field(..., description="TP ranks per replica (resolved).")
    weight_bytes: int = Field(..., description="Language-model weights, summed over ranks.")
    vision_bytes: int = Field(
        ..., description="SigLIP tower + projector weights (0 if text-only or images off)."
    )
    overhead_bytes: int = Field(
        ...,
        description="Runtime, activation, sampler and graph memory, summed over ranks "
        "(0 on CPU, where the KV size is set explicitly).",
    )
    kv_bytes_per_token: int = Field(
        ..., description="Global-attention layers' KV per token of context, summed over ranks."
    )
    kv_bytes_per_sequence_local: int = Field(
        ...,
        description="Sliding-window layers' KV one full-context sequence holds "
        "(window + in-flight tokens, whole blocks, padded groups), summed over ranks.",
    )
    kv_cache_bytes: int = Field(
        ..., description="Memory left for the KV cache per replica, summed over ranks."
    )
    kv_capacity_tokens: int = Field(
        ..., description='What vLLM reports as "KV cache size: N tokens".'
    )
    max_concurrent_full_context: int = Field(
        ..., description="Sequences of max_model_len whose KV fits at once."
    )
    block_size: int = Field(..., description="Tokens per KV block vLLM will use.")
    max_num_batched_tokens: int = Field(
        ..., description="Tokens per engine step assumed (pass it to vLLM to match the plan)."
    )
    max_num_seqs: int = Field(..., description="Sequences per batch assumed.")
    notes: list[str] = Field(default_factory=list, description="Assumptions and warnings.")

    @property
    def fits(self) -> bool:
        """Whether at least one full-context sequence fits."""
        return self.max_concurrent_full_context >= 1


def plan_capacity(model: ModelConfig, *, cpu_count: int | None = None) -> CapacityPlan:
    """Plan one replica of `model`, or raise PlanError saying why not and what would work.

    `cpu_count`: cores of the machine, used on `cpu` to bound TP when
    `hardware.cpu_cores` is unset.
    """
    variant = catalogue.variant(model.variant)
    device = catalogue.accelerator(model.hardware.accelerator)
    check_rules(model, variant)
    candidates = _tp_candidates(model, variant, device, cpu_count)
    plans = [plan_at(model, variant, device, tp) for tp in candidates]
    for plan in plans:
        if plan.fits:
            return plan
    from gemma_serve.planner.advice import explain_misfit

    raise PlanError(explain_misfit(model, variant, device, plans[-1]))


def check_rules(model: ModelConfig, variant: Gemma3Variant) -> None:
    """The Gemma 3 rules that do not depend on memory."""
    catalogue.check_dtype(variant, model.dtype)
    catalogue.check_context(variant, model.max_model_len)
    catalogue.check_output(variant, model.max_output_tokens)
    if images_requested(model, variant):
        catalogue.check_images(variant, model.multimodal.max_images_per_prompt)


def images_requested(model: ModelConfig, variant: Gemma3Variant) -> bool:
    """Images are on for 4b+ unless limited to 0; on 270m/1b only if asked for.

    The default `max_images_per_prompt` is 1, so for a text-only variant the
    value counts only when the user set it: it is in `model_fields_set`, and the
    config is not a full dump (dumped defaults re-validated) carrying the default.
    """
    mm = model.multimodal
    if variant.multimodal:
        return mm.max_images_per_prompt > 0
    if "max_images_per_prompt" not in mm.model_fields_set or mm.max_images_per_prompt == 0:
        return False
    default = MultimodalConfig.model_fields["max_images_per_prompt"].default
    full_dump = model.model_fields_set == set(ModelConfig.model_fields)
    return not (full_dump and mm.max_images_per_prompt == default)


def _tp_candidates(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, cpu_count: int | None
) -> list[int]:
    tp = model.tensor_parallel_size
    count = model.hardware.count
    if isinstance(tp, int):
        catalogue.check_tensor_parallel(variant, tp)
        if device.is_cpu:
            cores = model.hardware.cpu_cores or cpu_count
            if cores is not None and tp > cores:
                raise PlanError(
                    f"tensor_parallel_size={tp} needs {tp} CPU cores (one per rank), "
                    f"only {cores} available"
                )
        elif tp > count:
            raise PlanError(
                f"tensor_parallel_size={tp} needs {tp} GPUs per replica but "
                f"hardware.count={count}; set hardware.count >= {tp}"
            )
        return [tp]
    if device.is_cpu:
        return [1]
    legal = [t for t in variant.legal_tp_sizes() if t <= count]
    return legal or [1]


def plan_at(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, tp: int
) -> CapacityPlan:
    """The plan at a given TP, whether or not it fits."""
    sched = resolve_scheduler(model, device, tp)
    layout = kv_layout(
        variant,
        tensor_parallel_size=tp,
        block_size=sched.block_size,
        kv_dtype_bytes=memory.kv_dtype_bytes(model),
        max_model_len=model.max_model_len,
        in_flight_tokens=sched.in_flight_tokens,
    )
    images = images_requested(model, variant)
    weights = memory.weight_bytes(variant, model)
    vision = memory.vision_bytes(variant, model) if images else 0
    notes: list[str] = []
    if device.is_cpu:
        overhead = 0
        kv_per_rank = int(model.engine.cpu_kv_cache_gib * GiB)
        notes.append(
            f"CPU: KV cache is engine.cpu_kv_cache_gib={model.engine.cpu_kv_cache_gib} GiB "
            "per rank (VLLM_CPU_KVCACHE_SPACE); weights and activations use host RAM"
        )
    else:
        per_rank_overhead = memory.overhead_bytes_per_rank(
            variant,
            model,
            tp=tp,
            max_num_batched_tokens=sched.max_num_batched_tokens,
            max_num_seqs=sched.max_num_seqs,
            images=images,
        )
        overhead = per_rank_overhead * tp
        budget = int(model.engine.gpu_memory_utilization * device.memory_bytes)
        kv_per_rank = budget - (weights + vision) // tp - per_rank_overhead
    kv_per_rank = max(kv_per_rank, 0)
    notes.extend(_notes(model, variant, device, tp, images, layout.kv_heads_per_rank))
    reserved = min(variant.sliding_window - 1 + sched.in_flight_tokens, model.max_model_len)
    if reserved > variant.sliding_window:
        notes.append(
            f"vLLM reserves {reserved} tokens per sequence in each sliding-window layer "
            f"(window {variant.sliding_window} - 1 + {sched.in_flight_tokens} in flight, "
            "at most max_model_len); a smaller max_num_batched_tokens frees KV"
        )
    return CapacityPlan(
        variant=variant.name,
        accelerator=device.name,
        max_model_len=model.max_model_len,
        tensor_parallel_size=tp,
        weight_bytes=weights,
        vision_bytes=vision,
        overhead_bytes=overhead,
        kv_bytes_per_token=layout.bytes_per_token_global(),
        kv_bytes_per_sequence_local=layout.bytes_per_sequence_local(),
        kv_cache_bytes=kv_per_rank * tp,
        kv_capacity_tokens=layout.capacity_tokens(kv_per_rank),
        max_concurrent_full_context=layout.max_concurrency(kv_per_rank),
        block_size=sched.block_size,
        max_num_batched_tokens=sched.max_num_batched_tokens,
        max_num_seqs=sched.max_num_seqs,
        notes=notes,
    )


def _notes(
    model: ModelConfig,
    variant: Gemma3Variant,
    device: Accelerator,
    tp: int,
    images: bool,
    kv_heads_per_rank: int,
) -> list[str]:
    notes = []
    if tp > variant.num_kv_heads:
        notes.append(
            f"TP={tp} exceeds the {variant.num_kv_heads} KV head(s): each rank keeps a "
            f"replica ({kv_heads_per_rank} head), so KV per token grows with TP"
        )
    if not device.is_cpu and tp < model.hardware.count:
        notes.append(f"uses {tp} of the replica's {model.hardware.count} GPUs")
    if images:
        n = model.multimodal.max_images_per_prompt
        crops = 5 if model.multimodal.do_pan_and_scan else 1
        notes.append(
            f"each image takes {catalogue.TOKENS_PER_IMAGE * crops} tokens of context; "
            f"{n} image(s) per prompt use up to {n * catalogue.TOKENS_PER_IMAGE * crops}"
        )
        if variant.name == "27b" and tp <= 2 and not device.is_cpu:
            notes.append(
                "27b with images at TP<=2 has run out of memory after KV sizing "
                "(vLLM issue 15676); keep gpu_memory_utilization <= 0.90"
            )
    elif variant.multimodal:
        notes.append("images off (max_images_per_prompt=0): vLLM skips the vision tower")
    if model.max_output_tokens >= model.max_model_len:
        notes.append(
            f"max_output_tokens={model.max_output_tokens} >= max_model_len; "
            "output is bounded by the context left after the prompt"
        )
    return notes
