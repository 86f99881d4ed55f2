"""What per-key budgets cost a request: the edge's auth + quota layers vs the bare app.

`.venv/bin/python -m benchmarks.quota_cost` drives the edge's own `ApiKeyAuth`
and `Quotas` layers (a key with requests, tokens and concurrency budgets and a
priority, so every branch runs: body read and re-encode, both buckets, the
`x-ratelimit-*` headers) around an ASGI app that answers a streamed completion
of 64 chunks at once, and the same app bare, at 16 concurrent streams, in
alternating rounds. Called in-process, so the difference is the layers' own
work per request, not the network's noise. Results:
benchmarks/results/quota-cost/result.json and summary.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from gemma_serve.api.auth import ApiKeyAuth
from gemma_serve.api.quotas import QuotaBook, Quotas
from gemma_serve.config.keys import ApiKey

ROOT = Path(__file__).resolve().parent
KEY = ApiKey(name="bench", key="bench-key", requests_per_minute=10**9,
             tokens_per_minute=10**12, max_concurrency=64, priority=5)  # fmt: skip
BODY = json.dumps({"model": "gemma-3-270m", "prompt": "word " * 100, "max_tokens": 64,
                   "stream": True}).encode()  # fmt: skip
CHUNKS = 64


async def streamed_completion(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The model's side, instant: read the body, answer 64 SSE chunks, yielding to the
    event loop between chunks as a streaming engine does (so the 16 streams interleave)."""
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
    for _ in range(CHUNKS):
        await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def with_quotas() -> Any:
    book = QuotaBook([KEY])
    quotas = Quotas(streamed_completion, book=book, context_tokens={"gemma-3-270m": 2048})
    return ApiKeyAuth(quotas, keys=[KEY])


async def one(app: Any) -> float:
    scope = {"type": "http", "method": "POST", "path": "/v1/completions", "query_string": b"",
             "headers": [(b"authorization", b"Bearer bench-key"),
                         (b"content-type", b"application/json"),
                         (b"content-length", str(len(BODY)).encode())]}  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    start = time.perf_counter()
    await app(scope, receive, send)
    return time.perf_counter() - start


async def run(app: Any, requests: int, streams: int) -> np.ndarray:
    """Per-request seconds with `streams` requests in flight at once."""
    out: list[float] = []
    queue = iter(range(requests))

    async def worker() -> None:
        for _ in queue:
            out.append(await one(app))

    await asyncio.gather(*(worker() for _ in range(streams)))
    return np.array(out)


async def main(args: argparse.Namespace) -> int:
    apps = {"bare": streamed_completion, "auth + quotas": with_quotas()}
    await run(apps["auth + quotas"], 500, args.streams)  # warm-up
    rounds = []
    for r in range(args.rounds):
        row: dict[str, dict[str, float]] = {}
        for name in list(apps)[:: 1 if r % 2 == 0 else -1]:
            lat = await run(apps[name], args.requests, args.streams) * 1000
            row[name] = {"p50_ms": float(np.percentile(lat, 50)),
                         "p99_ms": float(np.percentile(lat, 99))}  # fmt: skip
        row["added"] = {k: row["auth + quotas"][k] - row["bare"][k] for k in ("p50_ms", "p99_ms")}
        rounds.append(row)
    added = {k: sorted(r["added"][k] for r in rounds) for k in ("p50_ms", "p99_ms")}
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(
        {"config": {k: v for k, v in vars(args).items() if k != "out"} | {"chunks": CHUNKS},
         "rounds": rounds}, indent=2))  # fmt: skip
    lines = [
        "# Per-key budgets: what the edge's auth + quota layers add to a request",
        "",
        f"{args.requests} streamed completions ({CHUNKS} chunks each) per run at "
        f"{args.streams} streams, in-process, {args.rounds} alternating rounds; a key with "
        "request, token and concurrency budgets and a priority (every branch of the layer).",
        "",
        "| added latency | median | min | max |",
        "|---|---|---|---|",
    ]
    for k, label in (("p50_ms", "p50 (ms)"), ("p99_ms", "p99 (ms)")):
        v = added[k]
        lines.append(f"| {label} | {np.median(v):.3f} | {v[0]:.3f} | {v[-1]:.3f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "results" / "quota-cost")
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--streams", type=int, default=16)
    p.add_argument("--rounds", type=int, default=7)
    sys.exit(asyncio.run(main(p.parse_args())))
