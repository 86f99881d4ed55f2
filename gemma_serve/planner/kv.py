"""Gemma 3's KV cache as vLLM 0.32's hybrid KV cache manager allocates it.

What vLLM does (v1/core/kv_cache_utils.py, v1/kv_cache_interface.py):
- Every layer has the same page (K and V for `block_size` tokens of the rank's
  KV heads), so the 5:1 local/global layers are split into groups of equal
  size: group size = the number of global layers G, one full-attention group
  and ceil(L_local / G) sliding-window groups (the last padded).
- One block of the shared pool holds one page for each layer of a group:
  bytes_per_block = G * page. num_blocks = kv_bytes_per_rank // bytes_per_block.
- A request at max_model_len needs, per full group, ceil(len / block_size)
  blocks; per sliding group, ceil(min(window - 1 + in_flight, len) /
  block_size) + 1 blocks, where in_flight = concurrent batches (2 with async
  scheduling on GPU, 1 on CPU) * max_num_batched_tokens.
- "KV cache size: N tokens" = int(num_blocks / blocks_per_request * max_model_len).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.catalogue import Gemma3Variant


class KvLayout(BaseModel):
    """Per-rank KV geometry of one replica, in vLLM's terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tensor_parallel_size: int = Field(..., description="Ranks the KV heads are split over.")
    block_size: int = Field(..., description="Tokens per KV block (128 on CPU, 16 on GPU).")
    kv_heads_per_rank: int = Field(..., description="KV heads each rank stores (>= 1).")
    page_bytes: int = Field(..., description="One layer's K+V for one block on one rank.")
    group_size: int = Field(..., description="Layers per KV cache group (= global layers).")
    full_groups: int = Field(..., description="Full-attention groups.")
    sliding_groups: int = Field(..., description="Sliding-window groups (last one padded).")
    max_model_len: int = Field(..., description="Context length sized for.")
    sliding_window: int = Field(..., description="Window of the local layers.")
    in_flight_tokens: int = Field(..., description="Tokens scheduled but not yet freed.")

    @property
    def bytes_per_block(self) -> int:
        """Bytes one block id occupies in the rank's pool."""
        return self.group_size * self.page_bytes

    @property
    def full_blocks_per_request(self) -> int:
        """Blocks a full-context request holds in each full-attention group."""
        return math.ceil(self.max_model_len / self.block_size)

    @property
    def sliding_blocks_per_request(self) -> int:
        """Blocks a request holds in each sliding-window group at most."""
        tokens = min(self.sliding_window - 1 + self.in_flight_tokens, self.max_model_len)
        return math.ceil(tokens / self.block_size) + 1

    @property
    def blocks_per_request(self) -> int:
        """Blocks one full-context request takes from the shared pool."""
        return (
            self.full_groups * self.full_blocks_per_request
            + self.sliding_groups * self.sliding_blocks_per_request
        )

    def num_blocks(self, kv_bytes_per_rank: int) -> int:
        """Blocks vLLM carves out of `kv_bytes_per_rank`."""
        return max(kv_bytes_per_rank, 0) // self.bytes_per_block

    def capacity_tokens(self, kv_bytes_per_rank: int) -> int:
        """What vLLM logs as "KV cache size: N tokens"."""
        concurrency = self.num_blocks(kv_bytes_per_rank) / self.blocks_per_request
        return int(concurrency * self.max_model_len)

    def max_concurrency(self, kv_bytes_per_rank: int) -> int:
        """Full-context sequences that fit at once."""
        return self.num_blocks(kv_bytes_per_rank) // self.blocks_per_request

    def bytes_per_token_global(self) -> int:
        """Global-layer KV per token of context, summed over ranks."""
        per_rank = self.full_groups * self.group_size * self.page_bytes // self.block_size
        return per_rank * self.tensor_parallel_size

    def bytes_per_sequence_local(self) -> int:
        """Sliding-window KV one full-context sequence holds, summed over ranks."""
        blocks = self.sliding_groups * self.sliding_blocks_per_request
        return blocks * self.bytes_per_block * self.tensor_parallel_size


def kv_layout(
    variant: Gemma3Variant,
    *,
    tensor_parallel_size: int,
    block_size: int,
    kv_dtype_bytes: int,
    max_model_len: int,
    in_flight_tokens: int,
) -> KvLayout:
    """The hybrid-manager layout vLLM builds for `variant` at this TP and length."""
    heads = max(1, variant.num_kv_heads // tensor_parallel_size)
    page = 2 * heads * variant.head_dim * kv_dtype_bytes * block_size
    n_global, n_local = variant.num_global_layers, variant.num_local_layers
    group = n_global
    if max(n_global, n_local) < 1.5 * min(n_global, n_local):
        group = max(n_global, n_local)
    return KvLayout(
        tensor_parallel_size=tensor_parallel_size,
        block_size=block_size,
        kv_heads_per_rank=heads,
        page_bytes=page,
        group_size=group,
        full_groups=math.ceil(n_global / group),
        sliding_groups=math.ceil(n_local / group),
        max_model_len=max_model_len,
        sliding_window=variant.sliding_window,
        in_flight_tokens=in_flight_tokens,
    )
