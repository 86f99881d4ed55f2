"""The benchmark client against the real default stack (Ray Serve + vLLM, API keys on).

vLLM's own client (`vllm bench serve`) runs against the same server for parity.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemma_serve.bench.datasets import SharedPrefixChat, SyntheticText
from gemma_serve.bench.lengths import FixedLength
from gemma_serve.bench.loads import ConcurrentLoad, PoissonLoad
from gemma_serve.bench.parity import check_parity
from gemma_serve.bench.runner import run_bench
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.cli.main import main
from tests.conftest import DEFAULT_KEY
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MODEL = "gemma-3-270m"


@pytest.fixture(scope="module")
def target(default_stack: Stack) -> Target:
    return Target(name="default-stack", base_url=default_stack.url, model=MODEL)


def synthetic(**kw: object) -> BenchSpec:
    data: dict[str, object] = {
        "dataset": SyntheticText(input_len=FixedLength(value=30), output_len=FixedLength(value=16)),
        "loads": [ConcurrentLoad(concurrency=1), ConcurrentLoad(concurrency=4)],
        "num_requests": 8,
        "warmup_requests": 1,
    }
    data.update(kw)
    return BenchSpec.model_validate(data)


async def test_completions_sweep_has_exact_lengths(target: Target) -> None:
    res = await run_bench(target, synthetic(), api_key=DEFAULT_KEY)
    for run in res.runs:
        m = run.metrics
        assert (m.completed, m.failed) == (8, 0)
        assert m.total_output_tokens == 8 * 16  # ignore_eos makes lengths exact
        assert all(r.output_tokens == 16 and len(r.itl_s) == 15 for r in run.records)
        # 30 random words: close to one token each (plus <bos> if the tokenizer adds it)
        assert all(r.prompt_tokens is not None and 28 <= r.prompt_tokens <= 45 for r in run.records)
        assert m.ttft_ms is not None and m.e2el_ms is not None and m.tpot_ms is not None
        assert 0 < m.ttft_ms.median < m.e2el_ms.median
        assert m.output_throughput > 0
    print(json.dumps({r.label: r.metrics.output_throughput for r in res.runs}))


async def test_shared_prefix_chat_and_poisson(target: Target) -> None:
    ds = SharedPrefixChat(
        num_prefixes=2,
        system_prompt_len=FixedLength(value=200),
        turns=2,
        user_len=FixedLength(value=10),
        output_len=FixedLength(value=8),
    )
    spec = synthetic(dataset=ds, loads=[PoissonLoad(rate=4)])
    res = await run_bench(target, spec, api_key=DEFAULT_KEY)
    (run,) = res.runs
    assert res.spec.resolved_api == "chat"
    assert (run.metrics.completed, run.metrics.failed) == (8, 0)
    assert all(r.output_tokens == 8 and len(r.itl_s) == 7 for r in run.records)


async def test_parity_with_vllm_bench_serve(target: Target) -> None:
    spec = synthetic(loads=[ConcurrentLoad(concurrency=4)], num_requests=16)
    # Each round runs both clients back to back; two rounds, in alternating order.
    res = await check_parity(target, spec, rounds=2, api_key=DEFAULT_KEY)
    print(
        res.model_dump_json(
            include={"ttft_p50_ratio", "ttft_mean_ratio", "output_throughput_ratio"}
        )
    )
    assert all(m.completed == 16 for m in res.ours + res.vllm)
    assert all(m.total_output_tokens == 16 * 16 for m in res.ours + res.vllm)
    # Both clients measured the same runs: every ratio is a finite, positive number. How
    # close they are (the goal: 10%) is a benchmark result, with its spread, measured on a
    # quiet machine (benchmarks/results/README.md): the suite's other half shares these
    # cores, so a round's ratio here says more about that than about the clients.
    for ratio in (res.ttft_p50_ratio, res.ttft_mean_ratio, res.output_throughput_ratio):
        assert 0 < ratio < float("inf")


def test_cli_writes_json_markdown_and_plots(target: Target, tmp_path: Path) -> None:
    code = main(
        [
            "bench",
            "--base-url",
            target.base_url,
            "--model",
            MODEL,
            "--api-key",
            DEFAULT_KEY,
            "--concurrency",
            "1,2",
            "--num-prompts",
            "4",
            "--input-len",
            "20",
            "--output-len",
            "8",
            "--warmup",
            "1",
            "--slo",
            "ttft:5000",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert [r["metrics"]["completed"] for r in result["runs"]] == [4, 4]
    assert (tmp_path / "summary.md").read_text().startswith("# Benchmark: target")
    assert (tmp_path / "latency_vs_throughput.png").stat().st_size > 0
    assert (tmp_path / "percentiles.png").stat().st_size > 0
