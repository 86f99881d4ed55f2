"""The full suite's duration, estimated from a quick run's timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.estimate import estimate_seconds
from benchmarks.readme import load
from benchmarks.record import Launch
from benchmarks.run_all import FULL, spec
from benchmarks.servers import OURS, SAME
from tests.bench.test_readme import _side_by_side, write_results


def test_counts_starts_in_mirror_order_and_scales_steps(tmp_path: Path) -> None:
    speed = {OURS: [1.0] * 3, SAME: [1.0] * 3}
    res = load(write_results(tmp_path, speed))
    assert res.suite is not None
    starts = {OURS: [Launch(ready_s=40, stop_s=5)], SAME: [Launch(ready_s=100, stop_s=5)]}
    record = res.suite.model_copy(update={"launches": starts, "wall_s": 0.0})
    full = spec(FULL["one_stream"], FULL["sixteen_streams"], FULL["warmup"])
    got = estimate_seconds(record, _side_by_side(speed), None, full, rounds=3, parity_requests=24)
    # measured: 4 requests at 1 stream in 4*64/18 s; 256 tokens at 16 streams in 256/190 s
    per_turn = 16 * 64 / 18 + 128 * 64 / 190
    # mirror order (G V | V G | G V): each server starts twice for its three turns
    assert got == pytest.approx(6 * per_turn + 2 * 45 + 2 * 105)
