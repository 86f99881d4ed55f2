"""LoRA on Gemma 3 as vLLM 0.32 allocates it: the plan's adapters and their memory.

What vLLM does (lora/model_manager.py, lora/layers/*linear.py): with
`--enable-lora` it wraps every supported linear layer of every decoder layer
(for Gemma 3: the packed `qkv_proj` and `gate_up_proj`, `o_proj`, `down_proj`;
no embedding or lm_head LoRA) and gives it two stacked buffers per slice,
`lora_a_stacked` (max_loras, 1, max_lora_rank, in) and `lora_b_stacked`
(max_loras, 1, out, max_lora_rank), in the model dtype. Under tensor
parallelism column-parallel layers (qkv, gate_up) keep the full input and a
rank's share of the output; row-parallel ones (o, down) a rank's share of the
input and the full output. These buffers live on the device for the engine's
lifetime: on a GPU they come out of what is left for the KV cache.

Loaded adapters are kept in host memory (vLLM's CPU LoRA cache, `max_cpu_loras`
entries, each at its own rank) and copied into a buffer slot when a batch
needs them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.catalogue import Gemma3Variant
from gemma_serve.config.lora import AdapterConfig, LoraConfig

#: vLLM's packed Gemma 3 modules and the peft names each one packs.
PACKED_MODULES: dict[str, tuple[str, ...]] = {
    "qkv_proj": ("q_proj", "k_proj", "v_proj"),
    "o_proj": ("o_proj",),
    "gate_up_proj": ("gate_proj", "up_proj"),
    "down_proj": ("down_proj",),
}


class LoraPlan(BaseModel):
    """A model's LoRA settings, resolved: what vLLM is told and what it will allocate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adapters: list[AdapterConfig] = Field(..., description="Static adapters, loaded at start.")
    directory: str | None = Field(..., description="Where dynamic adapters are found by name.")
    max_loras: int = Field(..., description="Distinct adapters in one batch (buffer slots).")
    max_lora_rank: int = Field(..., description="Rank the buffers are sized for.")
    max_cpu_loras: int = Field(..., description="Adapters kept loaded per replica.")
    target_modules: list[str] | None = Field(
        ..., description="vLLM's deployment-time module filter as configured (None: all)."
    )
    modules: list[str] = Field(..., description="vLLM's packed modules that get LoRA buffers.")
    affinity: bool = Field(..., description="Route an adapter's requests to replicas holding it.")
    buffer_bytes: int = Field(
        ..., description="LoRA buffers (lora_a/lora_b stacked) of one replica, summed over ranks."
    )
    adapter_cache_bytes: int = Field(
        ...,
        description="Host memory of max_cpu_loras adapters at max_lora_rank on every module, "
        "summed over ranks (an upper bound: real adapters are often smaller).",
    )

    @property
    def dynamic(self) -> bool:
        """Whether adapters are loaded by name at run time."""
        return self.directory is not None

    @property
    def dynamic_slots(self) -> int:
        """Dynamic adapters a replica keeps besides the static ones (its LRU's size)."""
        return self.max_cpu_loras - len(self.adapters)

    @property
    def names(self) -> list[str]:
        """The static adapters' names."""
        return [a.name for a in self.adapters]


def lora_modules(target_modules: Sequence[str] | None) -> list[str]:
    """vLLM's packed modules that pass its target filter (a packed one passes with any child)."""
    if target_modules is None:
        return list(PACKED_MODULES)
    wanted = set(target_modules)
    return [
        packed
        for packed, children in PACKED_MODULES.items()
        if packed in wanted or wanted.intersection(children)
    ]


def _module_elements(variant: Gemma3Variant, module: str, *, rank: int, tp: int) -> tuple[int, int]:
    """Elements of one buffer slot of `module` on one rank: (lora_a, lora_b)."""
    hidden = variant.hidden_size
    q = variant.num_heads // tp * variant.head_dim
    kv = max(1, variant.num_kv_heads // tp) * variant.head_dim
    inter = variant.intermediate_size // tp
    if module == "qkv_proj":  # three slices, each reading the full hidden state
        return 3 * rank * hidden, (q + 2 * kv) * rank
    if module == "o_proj":  # row parallel: a rank's share of the heads in, full hidden out
        return rank * q, hidden * rank
    if module == "gate_up_proj":  # two slices
        return 2 * rank * hidden, 2 * inter * rank
    if module == "down_proj":
        return rank * inter, hidden * rank
    raise ValueError(f"no LoRA module {module!r} on Gemma 3")


def buffer_bytes_per_rank(
    variant: Gemma3Variant,
    *,
    modules: list[str],
    max_loras: int,
    max_lora_rank: int,
    tp: int,
    dtype_bytes: int,
) -> int:
    """Bytes of vLLM's lora_a/lora_b stacked buffers on one rank."""
    per_layer = sum(sum(_module_elements(variant, m, rank=max_lora_rank, tp=tp)) for m in modules)
    return per_layer * variant.num_layers * max_loras * dtype_bytes


def adapter_bytes(
    variant: Gemma3Variant, *, modules: list[str], rank: int, dtype_bytes: int
) -> int:
    """One whole adapter of `rank` on `modules`, as vLLM holds it in host memory."""
    per_layer = sum(sum(_module_elements(variant, m, rank=rank, tp=1)) for m in modules)
    return per_layer * variant.num_layers * dtype_bytes


def resolve_lora(
    lora: LoraConfig | None, variant: Gemma3Variant, *, tp: int, dtype_bytes: int
) -> LoraPlan | None:
    """The model's LoRA plan at `tp` ranks, or None when LoRA is off."""
    if lora is None:
        return None
    modules = lora_modules(lora.target_modules)
    cpu_loras = lora.resolved_max_cpu_loras
    per_rank = buffer_bytes_per_rank(
        variant, modules=modules, max_loras=lora.max_loras, max_lora_rank=lora.max_lora_rank,
        tp=tp, dtype_bytes=dtype_bytes,
    )  # fmt: skip
    one = adapter_bytes(variant, modules=modules, rank=lora.max_lora_rank, dtype_bytes=dtype_bytes)
    return LoraPlan(
        adapters=lora.adapters,
        directory=lora.directory,
        max_loras=lora.max_loras,
        max_lora_rank=lora.max_lora_rank,
        max_cpu_loras=cpu_loras,
        target_modules=list(lora.target_modules) if lora.target_modules else None,
        modules=modules,
        affinity=lora.affinity,
        buffer_bytes=per_rank * tp,
        adapter_cache_bytes=one * cpu_loras * tp,
    )


def lora_note(plan: LoraPlan, *, on_gpu: bool) -> str:
    """One line for the plan's notes: the buffers and where their memory comes from."""
    mib = plan.buffer_bytes / 2**20
    where = "taken from the KV cache" if on_gpu else "host RAM"
    return (
        f"LoRA: {mib:.1f} MiB of buffers ({plan.max_loras} slot(s) x rank {plan.max_lora_rank} "
        f"x {'/'.join(plan.modules)}), {where}; up to {plan.max_cpu_loras} adapter(s) loaded "
        f"(<= {plan.adapter_cache_bytes / 2**20:.0f} MiB host memory)"
    )
