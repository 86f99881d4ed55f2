"""`models[].lora`: LoRA adapters served on a base model, static and loaded at run time.

vLLM does the loading and the batching (its `--enable-lora` engine, its
`--lora-modules` for the static ones); these models only say which adapters,
how many per batch and in memory, and where dynamic ones are found.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: vLLM 0.32's `MaxLoRARanks`: the ranks its LoRA buffers can be sized for.
LoraRank = Literal[1, 8, 16, 32, 64, 128, 256, 320, 512]
#: Gemma 3 modules vLLM can put LoRA on, by peft's names or vLLM's packed ones.
LoraModule = Literal[
    "q_proj", "k_proj", "v_proj", "qkv_proj", "o_proj",
    "gate_proj", "up_proj", "gate_up_proj", "down_proj",
]  # fmt: skip
#: What an adapter (or a model) may be called in a request's `model` field.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdapterConfig(_Strict):
    """One adapter loaded when the engine starts and kept for its lifetime."""

    name: str = Field(
        ...,
        min_length=1,
        max_length=128,
        pattern=NAME_PATTERN,
        description="Name clients put in the request's `model` field to use this adapter.",
    )
    source: str = Field(
        ...,
        min_length=1,
        description="A peft LoRA adapter: a local directory (with adapter_config.json) or a "
        "hub id, resolved on the node by vLLM.",
    )


class LoraConfig(_Strict):
    """LoRA adapters on one base model: vLLM batches requests for different adapters."""

    adapters: list[AdapterConfig] = Field(
        default_factory=list,
        description="Static adapters, loaded at start on every replica (never evicted).",
    )
    directory: str | None = Field(
        None,
        min_length=1,
        description="Dynamic adapters: a directory on every node (e.g. a mounted volume or "
        "bucket) holding one peft adapter per subdirectory; a request naming `<name>` loads "
        "`<directory>/<name>` on first use. Unset: only static adapters are served.",
    )
    max_loras: int = Field(
        2,
        ge=1,
        le=64,
        description="Distinct adapters in one engine batch; vLLM sizes its LoRA buffers "
        "(device memory, taken from the KV cache on GPUs) for this many.",
    )
    max_lora_rank: LoraRank = Field(
        16, description="Largest adapter rank accepted; the buffers are sized for it."
    )
    max_cpu_loras: int | None = Field(
        None,
        ge=1,
        description="Adapters kept loaded per replica (host memory): the static ones plus an "
        "LRU of dynamic ones, least recently used evicted first. Default: the static "
        "adapters + max_loras when dynamic adapters are on, else max(max_loras, static).",
    )
    target_modules: list[LoraModule] | None = Field(
        None,
        min_length=1,
        description="Restrict LoRA to these modules (peft or vLLM names; q/k/v share "
        "`qkv_proj`, gate/up share `gate_up_proj`) to save buffer memory. Default: every "
        "module vLLM supports on Gemma 3.",
    )
    affinity: bool = Field(
        True,
        description="With several replicas, send an adapter's requests to a replica that "
        "already holds it (Ray Serve's multiplexed routing), loading elsewhere only when "
        "those replicas are busy.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> LoraConfig:
        if not self.adapters and not self.directory:
            raise ValueError("lora needs static adapters, a dynamic directory, or both")
        names = [a.name for a in self.adapters]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"lora.adapters[].name must be unique; repeated: {', '.join(dupes)}")
        cpu = self.resolved_max_cpu_loras
        if cpu < self.max_loras:
            raise ValueError(f"max_cpu_loras={cpu} must be >= max_loras={self.max_loras}")
        if cpu < len(self.adapters) + (1 if self.directory else 0):
            need = len(self.adapters) + (1 if self.directory else 0)
            raise ValueError(
                f"max_cpu_loras={cpu} cannot hold the {len(self.adapters)} static adapter(s)"
                + (" and one dynamic adapter" if self.directory else "")
                + f"; set max_cpu_loras >= {need}"
            )
        return self

    @property
    def resolved_max_cpu_loras(self) -> int:
        """`max_cpu_loras`, or its default."""
        if self.max_cpu_loras is not None:
            return self.max_cpu_loras
        if self.directory:
            return len(self.adapters) + self.max_loras
        return max(self.max_loras, len(self.adapters))
