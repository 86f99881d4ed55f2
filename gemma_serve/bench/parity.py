"""Check our client against vLLM's own benchmark client (`vllm bench serve`).

Both drive the same endpoint with the same dataset kind, lengths and load;
vLLM's raw per-request timings go through our aggregation too, so the ratios
isolate the clients' measurements. Each run draws fresh prompts (unless the
spec turns `fresh_prompts` off), otherwise whichever client ran second would
hit the prefix cache. Rounds alternate who goes first.
"""

from __future__ import annotations

import contextlib
import io
import math
from datetime import UTC, datetime
from statistics import median
from typing import Any

import numpy as np

from gemma_serve.bench.aggregate import compute_metrics
from gemma_serve.bench.client import _PATHS
from gemma_serve.bench.datasets import BenchRequest
from gemma_serve.bench.errors import BenchError
from gemma_serve.bench.loads import ConcurrentLoad, ConstantLoad, PoissonLoad
from gemma_serve.bench.results import ParityResult, RequestRecord, RunMetrics
from gemma_serve.bench.runner import run_bench
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.errors import ConfigError


def _rate_args(spec: BenchSpec) -> dict[str, Any]:
    if len(spec.loads) != 1:
        raise ConfigError("the parity check runs exactly one load step")
    load = spec.loads[0]
    if isinstance(load, ConcurrentLoad):
        return {"request_rate": math.inf, "burstiness": 1.0, "max_concurrency": load.concurrency}
    if isinstance(load, PoissonLoad):
        return {
            "request_rate": load.rate,
            "burstiness": load.burstiness,
            "max_concurrency": load.max_concurrency,
        }
    if isinstance(load, ConstantLoad):
        return {
            "request_rate": load.rate,
            "burstiness": math.inf,
            "max_concurrency": load.max_concurrency,
        }
    raise ConfigError(f"vLLM's client has no equivalent of a {load.kind!r} load")


def records_from_vllm(result: dict[str, Any]) -> list[RequestRecord]:
    """vLLM `benchmark()` raw lists as our records (success = some output tokens)."""
    starts = result["start_times"]
    t0 = min(starts) if starts else 0.0
    records = []
    for i, start in enumerate(starts):
        ok = result["output_lens"][i] > 0
        records.append(
            RequestRecord(
                index=i,
                start_s=start - t0,
                ttft_s=result["ttfts"][i] if ok else None,
                itl_s=list(result["itls"][i]) if ok else [],
                latency_s=result["latencies"][i] if ok else None,
                prompt_tokens=result["input_lens"][i],
                output_tokens=result["output_lens"][i],
                error_kind=None if ok else "vllm",
                error=None if ok else (result["errors"][i] or "failed")[-300:],
            )
        )
    return records


async def run_vllm_client(
    target: Target, spec: BenchSpec, requests: list[BenchRequest], api_key: str | None = None
) -> RunMetrics:
    """One run of `vllm.benchmarks.serve.benchmark` (its printout is swallowed)."""
    from vllm.benchmarks.datasets import SampleRequest
    from vllm.benchmarks.serve import TaskType, benchmark

    api = spec.resolved_api
    samples = [
        SampleRequest(
            prompt=r.prompt or "",
            prompt_len=r.input_words,
            expected_output_len=r.output_len,
            chat_messages=r.messages,
        )
        for r in requests
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        result = await benchmark(
            task_type=TaskType.GENERATION,
            endpoint_type="openai" if api == "completions" else "openai-chat",
            api_url=target.base_url + _PATHS[api],
            base_url=target.base_url,
            model_id=target.model,
            model_name=target.model,
            tokenizer=None,
            input_requests=samples,
            logprobs=None,
            disable_tqdm=True,
            num_warmups=spec.warmup_requests,
            profile=False,
            selected_percentile_metrics=["ttft", "tpot", "itl", "e2el"],
            selected_percentiles=[50.0, 90.0, 99.0],
            ignore_eos=spec.ignore_eos,
            goodput_config_dict={},
            lora_modules=None,
            extra_headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            extra_body=spec.extra_body or None,
            ready_check_timeout_sec=0,
            **_rate_args(spec),
        )
    return compute_metrics(records_from_vllm(result), result["duration"], spec.slo)


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """Median over rounds of ours / theirs, each round's two runs back to back.

    Pairing cancels the slow drift of a shared machine better than a ratio of
    medians would.
    """
    ratios = [a / b if b else math.inf for a, b in zip(ours, theirs, strict=True)]
    return median(ratios)


async def check_parity(
    target: Target,
    spec: BenchSpec,
    *,
    rounds: int = 1,
    tolerance: float = 0.10,
    api_key: str | None = None,
) -> ParityResult:
    """Run both clients `rounds` times each; ratios are ours / vLLM's, paired by round."""
    _rate_args(spec)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    ours: list[RunMetrics] = []
    theirs: list[RunMetrics] = []
    for r in range(rounds):
        order = ("ours", "vllm") if r % 2 == 0 else ("vllm", "ours")
        for k, who in enumerate(order):
            round_ = 2 * r + k
            if who == "ours":
                res = await run_bench(target, spec, round_=round_, api_key=api_key)
                ours.append(res.runs[0].metrics)
            else:
                rng = np.random.default_rng(spec.step_seed(0, round_))
                reqs = spec.dataset.generate(spec.step_requests(0), rng)
                theirs.append(await run_vllm_client(target, spec, reqs, api_key))
    if not all(m.ttft_ms for m in ours + theirs):
        raise BenchError("a parity run completed no request; check the endpoint and model")
    ttft50 = paired_ratio(
        [m.ttft_ms.median for m in ours if m.ttft_ms],
        [m.ttft_ms.median for m in theirs if m.ttft_ms],
    )
    ttft_mean = paired_ratio(
        [m.ttft_ms.mean for m in ours if m.ttft_ms], [m.ttft_ms.mean for m in theirs if m.ttft_ms]
    )
    tput = paired_ratio([m.output_throughput for m in ours], [m.output_throughput for m in theirs])
    within = all(abs(x - 1.0) <= tolerance for x in (ttft50, ttft_mean, tput))
    return ParityResult(
        created_at=created,
        target=target,
        spec=spec,
        ours=ours,
        vllm=theirs,
        ttft_p50_ratio=ttft50,
        ttft_mean_ratio=ttft_mean,
        output_throughput_ratio=tput,
        tolerance=tolerance,
        within_tolerance=within,
    )
