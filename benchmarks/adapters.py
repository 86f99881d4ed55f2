"""Adapter-aware routing on this machine: LoRA affinity on vs off.

`.venv/bin/python -m benchmarks.adapters` serves gemma-3-270m on 2 replicas (one
core each, tests/e2e/pair.yaml) with a directory of 6 dynamic LoRA adapters
(peft-made, tests/tiny_lora.py) and room for 3 of them per replica
(`max_cpu_loras` 3), twice: with `lora.affinity` on (the gateway sends each
adapter as Ray Serve's multiplexed model id; its router prefers the replica
holding it) and off (prefix/load-aware routing that ignores adapters). The
same Poisson stream of completions, each for a random adapter, is sent to
both. It reports adapter load events (the replicas' adapter-load counter at the
stack's scrape target, summed over replicas: Ray deduplicates repeated log
lines, so vLLM's "Loaded new LoRA adapter" lines undercount), TTFT p50/p99 and
how requests split between replicas.
Results: benchmarks/results/adapters/result.json and summary.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from gemma_serve.bench.launch import SubprocessLauncher
from gemma_serve.metrics.edge import ADAPTER_LOADS
from gemma_serve.models.prepare import cache_root, prepare_embedded
from tests.tiny_lora import TINY_ADAPTERS, build_adapters

ROOT = Path(__file__).resolve().parent
CONFIG = ROOT.parent / "tests" / "e2e" / "pair.yaml"
MODEL = "gemma-3-270m-pair"
MODES = {"affinity": True, "no affinity": False}
READY_LINE = "ready in "
METRICS_URL = re.compile(r"\(metrics: (http://\S+/metrics)\)")
#: Seconds for a replica's last counter update to reach its node's metrics agent.
METRICS_SETTLE_S = 15
SUBJECTS = ("the river", "the market", "the old bridge", "the library", "the harbour")


async def one(client: httpx.AsyncClient, url: str, adapter: str, i: int) -> dict[str, object]:
    body = {
        "model": adapter, "prompt": f"Note {i}: {random.Random(i).choice(SUBJECTS)} is",
        "max_tokens": 16, "ignore_eos": True, "temperature": 0, "stream": True,
    }  # fmt: skip
    start = time.perf_counter()
    ttft = None
    async with client.stream("POST", url, json=body) as r:
        replica = r.headers.get("x-gemma-serve-replica", "?")
        status = r.status_code
        async for line in r.aiter_lines():
            if ttft is None and line.startswith("data: {") and '"text":' in line:
                ttft = time.perf_counter() - start
    return {"adapter": adapter, "ttft_s": ttft or float("nan"), "replica": replica,
            "status": status}  # fmt: skip


async def _both_replicas_ready(log_path: Path) -> None:
    """/health answers once one replica runs; `serve` prints its ready line once all do."""
    for _ in range(900):
        if READY_LINE in await asyncio.to_thread(log_path.read_text, errors="replace"):
            return
        await asyncio.sleep(1)
    raise TimeoutError(f"not every replica started; see {log_path}")


async def adapter_loads(client: httpx.AsyncClient, log_path: Path) -> int:
    """Dynamic adapter loads so far, summed over replicas, at the ready line's scrape target."""
    found = METRICS_URL.search(await asyncio.to_thread(log_path.read_text, errors="replace"))
    assert found, f"no scrape target in {log_path}"
    text = (await client.get(found.group(1))).text
    series = re.findall(rf"^{ADAPTER_LOADS.exported}\{{[^}}]*\}} ([0-9.e+-]+)$",
                        text, re.M)  # fmt: skip
    return int(sum(float(v) for v in series))


def schedule(args: argparse.Namespace, adapters: list[str]) -> list[tuple[float, str]]:
    """Arrival times (Poisson) and the adapter of each request, the same for every mode."""
    rng = random.Random(args.seed)
    t, out = 0.0, []
    for _ in range(args.requests):
        t += rng.expovariate(args.rate)
        out.append((t, rng.choice(adapters)))
    return out


async def run_mode(
    mode: str, args: argparse.Namespace, directory: Path, log_dir: Path
) -> dict[str, object]:
    port = 8310
    lora = {"directory": str(directory), "max_loras": args.max_loras, "max_lora_rank": 16,
            "max_cpu_loras": args.per_replica, "affinity": MODES[mode]}  # fmt: skip
    log_path = log_dir / f"adapters-{mode.replace(' ', '-')}.log"
    log_path.unlink(missing_ok=True)
    launcher = SubprocessLauncher(
        argv=[str(Path(sys.executable).with_name("gemma-serve")), "serve", "--config", str(CONFIG),
              "--port", str(port), "--set", f"models.0.lora={json.dumps(lora)}"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_path,
        startup_timeout_s=900,
        stop_timeout_s=60,
    )  # fmt: skip
    plan = schedule(args, [s.name for s in TINY_ADAPTERS])
    async with launcher(), httpx.AsyncClient(timeout=600) as client:
        await _both_replicas_ready(log_path)
        url = f"http://127.0.0.1:{port}/v1/completions"

        async def arrive(i: int, delay: float, adapter: str) -> dict[str, object]:
            await asyncio.sleep(delay)
            return await one(client, url, adapter, i)

        results = await asyncio.gather(*(arrive(i, d, a) for i, (d, a) in enumerate(plan)))
        await asyncio.sleep(METRICS_SETTLE_S)
        loads = await adapter_loads(client, log_path)
    ttft = np.array([float(r["ttft_s"]) for r in results]) * 1000  # type: ignore[arg-type]
    holders: dict[str, set[str]] = {}
    for r in results:
        holders.setdefault(str(r["adapter"]), set()).add(str(r["replica"]))
    return {
        "mode": mode,
        "requests": len(results),
        "errors": sum(1 for r in results if r["status"] != 200),
        "adapter_loads": loads,
        "ttft_p50_ms": float(np.nanpercentile(ttft, 50)),
        "ttft_p99_ms": float(np.nanpercentile(ttft, 99)),
        "requests_per_replica": sorted(Counter(str(r["replica"]) for r in results).values()),
        "replicas_per_adapter": float(np.mean([len(v) for v in holders.values()])),
    }


async def main(args: argparse.Namespace) -> int:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    adapters = build_adapters(cache_root() / "adapters" / "tiny", prepare_embedded())
    with tempfile.TemporaryDirectory(prefix="gemma-serve-adapters-") as tmp:
        directory = Path(tmp)
        for name, path in adapters.items():
            shutil.copytree(path, directory / name)
        rows = [await run_mode(m, args, directory, out / "logs") for m in MODES]
    (out / "result.json").write_text(json.dumps({"config": vars(args) | {"out": str(out)},
                                                 "results": rows}, indent=2))  # fmt: skip
    lines = [
        "# Adapter-aware routing: LoRA affinity on vs off (2 replicas, 1 core each)",
        "",
        f"{args.requests} streamed completions (16 tokens), each for one of {len(adapters)} "
        f"dynamic LoRA adapters at random, Poisson arrivals at {args.rate}/s; each replica "
        f"keeps {args.per_replica} adapters (lora.max_cpu_loras), least recently used evicted, "
        f"and batches up to {args.max_loras} adapters at once (lora.max_loras).",
        "",
        "| routing | adapter loads | TTFT p50 ms | TTFT p99 ms | replicas per adapter | "
        "requests per replica | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['adapter_loads']} | {float(r['ttft_p50_ms']):.0f} | "  # type: ignore[arg-type]
            f"{float(r['ttft_p99_ms']):.0f} | {float(r['replicas_per_adapter']):.2f} | "  # type: ignore[arg-type]
            f"{r['requests_per_replica']} | {r['errors']} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "results" / "adapters")
    p.add_argument("--requests", type=int, default=120)
    p.add_argument("--rate", type=float, default=1.0, help="arrivals per second")
    p.add_argument("--per-replica", type=int, default=3, help="lora.max_cpu_loras")
    p.add_argument("--max-loras", type=int, default=3, help="lora.max_loras (adapters per batch)")
    p.add_argument("--seed", type=int, default=3)
    sys.exit(asyncio.run(main(p.parse_args())))
