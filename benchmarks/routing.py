"""Replica routing on this machine: prefix-aware vs plain power-of-two choices.

`.venv/bin/python -m benchmarks.routing` serves gemma-3-270m on 2 replicas (one
core each, tests/e2e/pair.yaml) twice, once per routing policy, and sends the
same chat workload: many conversations sharing a few long system prompts,
arriving as a Poisson stream. It reports the prefix-cache hit rate (cached
prompt tokens / prompt tokens, from vLLM's per-request usage details), TTFT
p50/p99 and how requests split between the replicas.
Results: benchmarks/results/routing/result.json and summary.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from gemma_serve.bench.launch import SubprocessLauncher

ROOT = Path(__file__).resolve().parent
CONFIG = ROOT.parent / "tests" / "e2e" / "pair.yaml"
MODEL = "gemma-3-270m-pair"
POLICIES = ("prefix_aware", "power_of_two")
WORDS = (
    "policy account service region cluster replica engine token window cache tenant quota "
    "request stream model prompt budget latency schedule review release incident"
).split()


def workload(n: int, prefixes: int, system_words: int, seed: int) -> list[list[dict[str, str]]]:
    """`n` conversations, each opening with one of `prefixes` long system prompts."""
    rng = random.Random(seed)
    systems = [
        f"You are assistant {p}. " + " ".join(rng.choices(WORDS, k=system_words))
        for p in range(prefixes)
    ]
    return [
        [
            {"role": "system", "content": systems[i % prefixes]},
            {"role": "user", "content": " ".join(rng.choices(WORDS, k=12)) + "?"},
        ]
        for i in range(n)
    ]


async def one(
    client: httpx.AsyncClient, url: str, messages: list[dict[str, str]]
) -> dict[str, float | str]:
    body = {
        "model": MODEL, "messages": messages, "max_tokens": 16, "ignore_eos": True,
        "stream": True, "stream_options": {"include_usage": True},
    }  # fmt: skip
    start = time.perf_counter()
    ttft = None
    usage: dict[str, Any] = {}
    async with client.stream("POST", url, json=body) as r:
        replica = r.headers.get("x-gemma-serve-replica", "?")
        async for line in r.aiter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if (
                ttft is None
                and chunk.get("choices")
                and chunk["choices"][0]["delta"].get("content")
            ):
                ttft = time.perf_counter() - start
            usage = chunk.get("usage") or usage
    details = usage.get("prompt_tokens_details") or {}
    return {
        "ttft_s": ttft or float("nan"),
        "prompt_tokens": float(usage.get("prompt_tokens", 0)),
        "cached_tokens": float(details.get("cached_tokens") or 0),
        "replica": replica,
    }


async def run_policy(policy: str, args: argparse.Namespace, log_dir: Path) -> dict[str, object]:
    port = 8300
    launcher = SubprocessLauncher(
        argv=[str(Path(sys.executable).with_name("gemma-serve")), "serve", "--config", str(CONFIG),
              "--port", str(port), "--set", f"models.0.autoscaling.routing={policy}"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / f"routing-{policy}.log",
        startup_timeout_s=600,
        stop_timeout_s=60,
    )  # fmt: skip
    conversations = workload(args.requests, args.prefixes, args.system_words, seed=1)
    rng = random.Random(2)
    async with launcher(), httpx.AsyncClient(timeout=300) as client:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"

        async def arrive(delay: float, messages: list[dict[str, str]]) -> dict[str, float | str]:
            await asyncio.sleep(delay)
            return await one(client, url, messages)

        t, delays = 0.0, []
        for _ in conversations:
            t += rng.expovariate(args.rate)
            delays.append(t)
        results = await asyncio.gather(
            *(arrive(d, m) for d, m in zip(delays, conversations, strict=True))
        )
    ttft = np.array([float(r["ttft_s"]) for r in results]) * 1000
    prompt = sum(float(r["prompt_tokens"]) for r in results)
    cached = sum(float(r["cached_tokens"]) for r in results)
    return {
        "policy": policy,
        "requests": len(results),
        "prefix_cache_hit_rate": cached / prompt if prompt else 0.0,
        "ttft_p50_ms": float(np.nanpercentile(ttft, 50)),
        "ttft_p99_ms": float(np.nanpercentile(ttft, 99)),
        "requests_per_replica": sorted(Counter(str(r["replica"]) for r in results).values()),
    }


async def main(args: argparse.Namespace) -> int:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows = [await run_policy(p, args, out / "logs") for p in POLICIES]
    (out / "result.json").write_text(json.dumps({"config": vars(args) | {"out": str(out)},
                                                 "results": rows}, indent=2))  # fmt: skip
    lines = [
        "# Replica routing: prefix-aware vs power-of-two (2 replicas, 1 core each)",
        "",
        f"{args.requests} chat requests, {args.prefixes} shared system prompts of "
        f"{args.system_words} words, Poisson arrivals at {args.rate}/s, 16 output tokens.",
        "",
        "| routing | prefix-cache hit rate | TTFT p50 ms | TTFT p99 ms | requests per replica |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['policy']} | {float(r['prefix_cache_hit_rate']):.1%} | "  # type: ignore[arg-type]
            f"{float(r['ttft_p50_ms']):.0f} | {float(r['ttft_p99_ms']):.0f} | "  # type: ignore[arg-type]
            f"{r['requests_per_replica']} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "results" / "routing")
    p.add_argument("--requests", type=int, default=48)
    p.add_argument("--prefixes", type=int, default=4)
    p.add_argument("--system-words", type=int, default=300)
    p.add_argument("--rate", type=float, default=1.5, help="arrivals per second")
    sys.exit(asyncio.run(main(p.parse_args())))
