"""Capacity of one replica at a given TP: weights, KV cache and what vLLM will report.

Pure arithmetic from a `ModelConfig` and the decisions already made (TP, images,
scheduler, compiled or eager); it decides nothing itself. `fit` chooses the TP and
explains a misfit; `resolve` turns the result into the plan. The KV model mirrors
vLLM 0.32's hybrid KV cache manager (`gemma_serve.planner.kv`); the non-KV memory
model is `gemma_serve.planner.memory`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator, Gemma3Variant
from gemma_serve.catalogue._hardware import GiB
from gemma_serve.config.models import ModelConfig
from gemma_serve.planner import memory, quant
from gemma_serve.planner.kv import KvLayout, kv_layout
from gemma_serve.planner.lora import lora_note, resolve_lora
from gemma_serve.planner.scheduler import SchedulerSettings


class CapacityPlan(BaseModel):
    """How one replica of a model uses its devices, as vLLM will size it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tensor_parallel_size: int = Field(..., description="TP ranks per replica.")
    weight_bytes: int = Field(..., description="Language-model weights, summed over ranks.")
    vision_bytes: int = Field(
        ..., description="SigLIP tower + projector weights (0 if text-only or images off)."
    )
    overhead_bytes: int = Field(
        ...,
        description="Runtime, activation, sampler and CUDA-graph memory, summed over ranks "
        "(0 on CPU, where the KV size is set explicitly).",
    )
    cuda_graph_bytes: int = Field(
        ..., description="Of the overhead: CUDA-graph memory, summed over ranks (0 if eager)."
    )
    lora_bytes: int = Field(
        0,
        description="vLLM's LoRA buffers (max_loras x rank x modules x layers), summed over "
        "ranks; on GPUs taken from the KV cache (0 without LoRA).",
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
    notes: list[str] = Field(default_factory=list, description="Assumptions and warnings.")

    @property
    def fits(self) -> bool:
        """Whether at least one full-context sequence fits."""
        return self.max_concurrent_full_context >= 1


def layout_for(
    model: ModelConfig, variant: Gemma3Variant, tp: int, scheduler: SchedulerSettings
) -> KvLayout:
    """The KV geometry vLLM builds for this model at `tp` ranks."""
    return kv_layout(
        variant,
        tensor_parallel_size=tp,
        block_size=scheduler.block_size,
        kv_dtype_bytes=memory.kv_dtype_bytes(model),
        max_model_len=model.max_model_len,
        in_flight_tokens=scheduler.in_flight_tokens,
    )


def capacity_at(
    model: ModelConfig,
    variant: Gemma3Variant,
    device: Accelerator,
    *,
    tp: int,
    images: int,
    scheduler: SchedulerSettings,
    compiled: bool,
) -> CapacityPlan:
    """The capacity at `tp` ranks with `images` per prompt (0: off), fitting or not."""
    layout = layout_for(model, variant, tp, scheduler)
    weights = memory.weight_bytes(variant, model)
    vision = memory.vision_bytes(variant, model, images=images > 0)
    lora = resolve_lora(model.lora, variant, tp=tp, dtype_bytes=memory.dtype_bytes(model.dtype))
    lora_per_rank = lora.buffer_bytes // tp if lora else 0
    notes: list[str] = []
    graphs = 0
    if device.is_cpu:
        per_rank_overhead = 0
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
            max_num_batched_tokens=scheduler.max_num_batched_tokens,
            max_num_seqs=scheduler.max_num_seqs,
            images=images > 0,
            compiled=compiled,
        )
        graphs = memory.CUDA_GRAPH_BYTES * tp if compiled else 0
        budget = int(model.engine.gpu_memory_utilization * device.memory_bytes)
        kv_per_rank = budget - (weights + vision) // tp - per_rank_overhead - lora_per_rank
        if compiled:
            notes.append(
                f"CUDA graphs: ~{memory.CUDA_GRAPH_BYTES / GiB:.0f} GiB per rank reserved "
                "(estimate; vLLM measures it at start)"
            )
    kv_per_rank = max(kv_per_rank, 0)
    notes.extend(quant.notes(model, variant, device))
    if lora:
        notes.append(lora_note(lora, on_gpu=not device.is_cpu))
    notes.extend(_notes(model, variant, device, tp, images, layout, scheduler))
    return CapacityPlan(
        tensor_parallel_size=tp,
        weight_bytes=weights,
        vision_bytes=vision,
        overhead_bytes=per_rank_overhead * tp,
        cuda_graph_bytes=graphs,
        lora_bytes=lora_per_rank * tp,
        kv_bytes_per_token=layout.bytes_per_token_global(),
        kv_bytes_per_sequence_local=layout.bytes_per_sequence_local(),
        kv_cache_bytes=kv_per_rank * tp,
        kv_capacity_tokens=layout.capacity_tokens(kv_per_rank),
        max_concurrent_full_context=layout.max_concurrency(kv_per_rank),
        notes=notes,
    )


def _notes(
    model: ModelConfig,
    variant: Gemma3Variant,
    device: Accelerator,
    tp: int,
    images: int,
    layout: KvLayout,
    scheduler: SchedulerSettings,
) -> list[str]:
    notes = []
    if tp > variant.num_kv_heads:
        notes.append(
            f"TP={tp} exceeds the {variant.num_kv_heads} KV head(s): each rank keeps a "
            f"replica ({layout.kv_heads_per_rank} head), so KV per token grows with TP"
        )
    if not device.is_cpu and tp < model.hardware.count:
        notes.append(f"uses {tp} of the replica's {model.hardware.count} GPUs")
    if images:
        crops = 5 if model.multimodal.do_pan_and_scan else 1
        per = catalogue.TOKENS_PER_IMAGE * crops
        notes.append(
            f"each image takes {per} tokens of context; {images} image(s) per prompt use up "
            f"to {images * per}"
        )
        if variant.name == "27b" and tp <= 2 and not device.is_cpu:
            notes.append(
                "27b with images at TP<=2 has run out of memory after KV sizing "
                "(vLLM issue 15676); keep gpu_memory_utilization <= 0.90"
            )
    elif variant.multimodal:
        notes.append("images off (max_images_per_prompt=0): vLLM skips the vision tower")
    reserved = min(variant.sliding_window - 1 + scheduler.in_flight_tokens, model.max_model_len)
    if reserved > variant.sliding_window:
        notes.append(
            f"vLLM reserves {reserved} tokens per sequence in each sliding-window layer "
            f"(window {variant.sliding_window} - 1 + {scheduler.in_flight_tokens} in flight, "
            "at most max_model_len); a smaller max_num_batched_tokens frees KV"
        )
    if model.max_output_tokens >= model.max_model_len:
        notes.append(
            f"max_output_tokens={model.max_output_tokens} >= max_model_len; "
            "output is bounded by the context left after the prompt"
        )
    return notes
