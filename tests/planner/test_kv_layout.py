"""vLLM's hybrid KV cache groups and block accounting for Gemma 3, by hand."""

from __future__ import annotations

import pytest

from gemma_serve import catalogue
from gemma_serve.planner.kv import kv_layout


def _layout(name: str, *, tp: int = 1, block: int = 16, length: int = 32768, flight: int = 4096):
    return kv_layout(
        catalogue.variant(name),
        tensor_parallel_size=tp,
        block_size=block,
        kv_dtype_bytes=2,
        max_model_len=length,
        in_flight_tokens=flight,
    )


@pytest.mark.parametrize(
    ("name", "group", "sliding_groups", "kib_per_token"),
    [("270m", 3, 5, 3), ("1b", 4, 6, 4), ("4b", 5, 6, 20), ("12b", 8, 5, 64), ("27b", 10, 6, 80)],
)
def test_groups_follow_the_global_layer_count(
    name: str, group: int, sliding_groups: int, kib_per_token: int
) -> None:
    lay = _layout(name)
    assert lay.group_size == group
    assert lay.full_groups == 1
    assert lay.sliding_groups == sliding_groups
    assert lay.bytes_per_token_global() == kib_per_token * 1024


def test_270m_cpu_block_accounting() -> None:
    # 1 KV head x 256 x (K+V) x bf16 x 128 tokens = 128 KiB per layer page; 3 layers a block.
    lay = _layout("270m", block=128, length=2048, flight=2048)
    assert lay.page_bytes == 128 * 1024
    assert lay.bytes_per_block == 384 * 1024
    # full: 2048/128 = 16; sliding: min(511 + 2048, 2048) -> 16 + 1 = 17, five groups.
    assert lay.blocks_per_request == 16 + 5 * 17
    assert lay.num_blocks(1024**3) == 2730
    assert lay.capacity_tokens(1024**3) == 55_356


def test_sliding_layers_are_bounded_by_window_plus_in_flight() -> None:
    short = _layout("27b", length=131072, flight=2048)
    assert short.sliding_blocks_per_request == -(-(1023 + 2048) // 16) + 1
    assert short.full_blocks_per_request == 131072 // 16
    longer_flight = _layout("27b", length=131072, flight=16384)
    assert longer_flight.bytes_per_sequence_local() > short.bytes_per_sequence_local()


def test_tp_splits_kv_heads_and_replicates_beyond_them() -> None:
    one, two = _layout("12b", tp=1), _layout("12b", tp=2)
    assert two.kv_heads_per_rank == 4
    assert two.page_bytes * 2 == one.page_bytes
    assert two.bytes_per_token_global() == one.bytes_per_token_global()
    # 1b has one KV head: with TP=2 every rank keeps a copy, doubling the replica's bytes.
    r1, r2 = _layout("1b", tp=1), _layout("1b", tp=2)
    assert r2.kv_heads_per_rank == 1
    assert r2.bytes_per_token_global() == 2 * r1.bytes_per_token_global()
