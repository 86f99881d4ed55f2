"""Our aggregation against vLLM's own `calculate_metrics` on the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

from gemma_serve.bench.aggregate import compute_metrics
from gemma_serve.bench.parity import records_from_vllm
from gemma_serve.bench.spec import Slo

pytestmark = pytest.mark.slow


def test_same_numbers_as_vllm_bench_serve() -> None:
    serve = pytest.importorskip("vllm.benchmarks.serve")
    from vllm.benchmarks.lib.endpoint_request_func import RequestFuncOutput

    rng = np.random.default_rng(0)
    outputs = []
    for i in range(40):
        n = int(rng.integers(1, 20))
        itl = [float(x) for x in rng.uniform(0.01, 0.05, n - 1)]
        ttft = float(rng.uniform(0.05, 0.5))
        ok = i % 7 != 3
        outputs.append(
            RequestFuncOutput(
                success=ok,
                latency=ttft + sum(itl) if ok else 0.0,
                output_tokens=n if ok else 0,
                ttft=ttft if ok else 0.0,
                itl=itl if ok else [],
                prompt_len=int(rng.integers(5, 50)),
                start_time=i * 0.1,
                error="" if ok else "boom",
            )
        )
    goodput = {"ttft": 300.0, "tpot": 30.0}
    theirs, out_lens = serve.calculate_metrics(
        input_requests=[],
        outputs=outputs,
        dur_s=5.0,
        tokenizer=None,
        selected_percentiles=[90.0, 99.0],
        goodput_config_dict=goodput,
    )
    raw = {
        "start_times": [o.start_time for o in outputs],
        "ttfts": [o.ttft for o in outputs],
        "itls": [o.itl for o in outputs],
        "latencies": [o.latency for o in outputs],
        "input_lens": [o.prompt_len for o in outputs],
        "output_lens": out_lens,
        "errors": [o.error for o in outputs],
    }
    ours = compute_metrics(records_from_vllm(raw), 5.0, Slo(ttft_ms=300, tpot_ms=30))
    assert ours.completed == theirs.completed and ours.failed == theirs.failed
    assert ours.total_input_tokens == theirs.total_input
    assert ours.total_output_tokens == theirs.total_output
    assert ours.request_throughput == pytest.approx(theirs.request_throughput)
    assert ours.request_goodput == pytest.approx(theirs.request_goodput)
    assert ours.output_throughput == pytest.approx(theirs.output_throughput)
    assert ours.total_token_throughput == pytest.approx(theirs.total_token_throughput)
    for name in ("ttft", "tpot", "itl", "e2el"):
        d = getattr(ours, f"{name}_ms")
        assert d.mean == pytest.approx(getattr(theirs, f"mean_{name}_ms"))
        assert d.median == pytest.approx(getattr(theirs, f"median_{name}_ms"))
        assert d.std == pytest.approx(getattr(theirs, f"std_{name}_ms"))
        p = dict(getattr(theirs, f"percentiles_{name}_ms"))
        assert (d.p90, d.p99) == pytest.approx((p[90.0], p[99.0]))
