"""The scheduler settings of a replica: the user's, or vLLM 0.32's defaults for the rest.

KV capacity depends on them (sliding-window groups reserve room for the tokens
in flight), so the planner resolves them the way vLLM does for the OpenAI
server usage context (engine/arg_utils.py `get_batch_defaults`), and the
launch passes every one of them to vLLM explicitly: the engine then runs with
exactly the values the plan's arithmetic used.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.catalogue import Accelerator
from gemma_serve.config.models import ModelConfig

CPU_BLOCK_SIZE = 128  # platforms/cpu.py: default when the user sets none
GPU_BLOCK_SIZE = 16  # CacheConfig.DEFAULT_BLOCK_SIZE


class SchedulerSettings(BaseModel):
    """Resolved scheduler/cache knobs of one replica."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    block_size: int = Field(..., description="Tokens per KV block.")
    max_num_batched_tokens: int = Field(..., description="Tokens scheduled in one step.")
    max_num_seqs: int = Field(..., description="Sequences batched at once.")
    concurrent_batches: int = Field(
        ..., description="Steps in flight: 2 with async scheduling (GPU), 1 on CPU."
    )

    @property
    def in_flight_tokens(self) -> int:
        """vLLM's `max_in_flight_tokens`: what sliding-window groups reserve for."""
        return self.concurrent_batches * self.max_num_batched_tokens


def resolve_scheduler(model: ModelConfig, device: Accelerator, tp: int) -> SchedulerSettings:
    """vLLM's defaults for what `model.engine` leaves unset, at `tp` ranks."""
    if device.is_cpu:
        batched, seqs = 2048 * tp, 128 * tp
    elif device.vllm_large_defaults:
        batched, seqs = 8192, 1024
    else:
        batched, seqs = 2048, 256
    eng = model.engine
    if eng.max_num_batched_tokens is None:
        if not eng.enable_chunked_prefill:
            batched = max(model.max_model_len, batched)
        batched = min((eng.max_num_seqs or seqs) * model.max_model_len, batched)
    else:
        batched = eng.max_num_batched_tokens
    if eng.max_num_seqs is None:
        seqs = min(seqs, batched)
    else:
        seqs = eng.max_num_seqs
    return SchedulerSettings(
        block_size=CPU_BLOCK_SIZE if device.is_cpu else GPU_BLOCK_SIZE,
        max_num_batched_tokens=batched,
        max_num_seqs=seqs,
        concurrent_batches=1 if device.is_cpu else 2,
    )
