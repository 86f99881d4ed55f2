"""The whole benchmark suite on this machine: `.venv/bin/python benchmarks/run_all.py`.

1. Side by side, identical engine settings: gemma-serve (default config) against
   vLLM's own OpenAI server started with the same vLLM argv and engine env,
   alternating rounds, one server up at a time (`lifetime="turn"`), at 1 and 16 streams.
2. Beyond bare vLLM: the same gemma-serve against a *default* vLLM server
   (same argv, vLLM's own CPU defaults: one core reserved, one compute thread).
3. Cold start: `gemma-serve serve` to the first token, every time it is launched.
4. Our client against vLLM's own benchmark client on the same server.

Results: benchmarks/results/<part>/result.json + summary.md + PNG plots, and
benchmarks/results/README.md with the machine and the headline numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx

from gemma_serve.bench.compare import run_side_by_side
from gemma_serve.bench.launch import SubprocessLauncher
from gemma_serve.bench.parity import check_parity
from gemma_serve.bench.report import write_report
from gemma_serve.bench.results import SideBySideResult
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.config import default_config
from gemma_serve.serve.app import plan_for

ROOT = Path(__file__).resolve().parent
OURS, SAME, DEFAULT = "gemma-serve", "vllm-same-settings", "vllm-default"
PORTS = {OURS: 8000, SAME: 8100, DEFAULT: 8200}
MODEL = "gemma-3-270m"


def spec(requests: int, step_seconds: float) -> BenchSpec:
    """The anchors' load: 100-word prompts, exactly 64 output tokens, closed loop, 1 and 16."""
    return BenchSpec.model_validate(
        {
            "dataset": {
                "kind": "synthetic",
                "input_len": {"kind": "fixed", "value": 100},
                "output_len": {"kind": "fixed", "value": 64},
            },
            "loads": [
                {"kind": "concurrent", "concurrency": 1},
                {"kind": "concurrent", "concurrency": 16},
            ],
            "num_requests": requests,
            "max_seconds": step_seconds,
            "warmup_requests": 2,
        }
    )


class ColdStart:
    """Wraps a launcher: records seconds from launch to the first streamed token."""

    def __init__(self, name: str, launcher: SubprocessLauncher) -> None:
        self.name, self.launcher = name, launcher
        self.seconds: list[float] = []

    def __call__(self) -> AbstractAsyncContextManager[None]:
        return self._run()

    @asynccontextmanager
    async def _run(self) -> AsyncIterator[None]:
        started = time.monotonic()
        async with self.launcher():
            base = self.launcher.health_url.removesuffix("/health")
            body = {"model": MODEL, "prompt": "Hello", "max_tokens": 1, "stream": True}
            async with (
                httpx.AsyncClient(timeout=120) as client,
                client.stream("POST", base + "/v1/completions", json=body) as r,
            ):
                async for line in r.aiter_lines():
                    if line.startswith("data: {"):
                        break
            self.seconds.append(time.monotonic() - started)
            yield


def launchers(log_dir: Path) -> dict[str, ColdStart]:
    """gemma-serve's default config, and vLLM's own server with the same vLLM argv."""
    (launch,) = plan_for(default_config()).models
    vllm = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", *launch.vllm_argv]
    gemma = [str(Path(sys.executable).with_name("gemma-serve")), "serve"]

    def sub(name: str, argv: list[str], env: dict[str, str]) -> ColdStart:
        port = PORTS[name]
        return ColdStart(
            name,
            SubprocessLauncher(
                argv=[*argv, "--port", str(port)],
                health_url=f"http://127.0.0.1:{port}/health",
                env=env,
                log_path=log_dir / f"{name}.log",
                startup_timeout_s=600,
                stop_timeout_s=60,
            ),
        )

    return {
        OURS: sub(OURS, gemma, {}),
        SAME: sub(SAME, vllm, dict(launch.env)),
        DEFAULT: sub(
            DEFAULT, vllm, {"VLLM_CPU_KVCACHE_SPACE": launch.env["VLLM_CPU_KVCACHE_SPACE"]}
        ),
    }


def targets(*names: str) -> list[Target]:
    return [Target(name=n, base_url=f"http://127.0.0.1:{PORTS[n]}", model=MODEL) for n in names]


def save(result: object, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(result.model_dump_json(indent=2))  # type: ignore[attr-defined]
    write_report(result, out)  # type: ignore[arg-type]


async def main(args: argparse.Namespace) -> int:
    out: Path = args.out
    starters = launchers(out / "logs")
    started = time.monotonic()
    load = spec(args.requests, args.step_seconds)
    result = await run_side_by_side(
        load,
        targets(OURS, SAME, DEFAULT),
        rounds=args.rounds,
        launchers=starters,
        lifetime="turn",
        baseline=SAME,
    )
    save(result, out / "side-by-side")
    async with starters[SAME]():
        one_step = load.model_copy(
            update={
                "loads": [load.loads[0].model_copy(update={"concurrency": 4})],
                "num_requests": 24,  # vLLM's client has no time bound: keep it short
            }
        )
        parity = await check_parity(targets(SAME)[0], one_step, rounds=1)
    save(parity, out / "client-parity")
    cold = {n: s.seconds for n, s in starters.items()}
    (out / "cold-start.json").write_text(json.dumps(cold, indent=2))
    write_machine_readme(out, result, cold, time.monotonic() - started)
    print((out / "README.md").read_text())
    return 0


def _row(result: SideBySideResult, target: str, streams: int) -> dict[str, float | None]:
    (row,) = [r for r in result.summary if r.target == target and r.label == f"c={streams}"]
    return row.model_dump()


def write_machine_readme(
    out: Path,
    result: SideBySideResult,
    cold: dict[str, list[float]],
    seconds: float,
) -> None:
    c1_ours, c1_vllm = _row(result, OURS, 1), _row(result, SAME, 1)
    c16_ours, c16_vllm = _row(result, OURS, 16), _row(result, SAME, 16)
    b_vllm = _row(result, DEFAULT, 16)
    beyond = (c16_ours["output_throughput"] or 0) / (b_vllm["output_throughput"] or 1)
    beyond_p99 = (c16_ours["ttft_p99_ms"] or 0) / (b_vllm["ttft_p99_ms"] or 1)

    def f(v: float | None, d: int = 1) -> str:
        return "n/a" if v is None else f"{v:.{d}f}"

    ttft_gap = (c1_ours["ttft_p50_ms"] or 0) - (c1_vllm["ttft_p50_ms"] or 0)
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, "
        f"Linux {platform.release()}, no GPU; Python {platform.python_version()}; "
        "vllm-cpu 0.32.0, Ray 2.60.0. Model: gemma-3-270m (bf16, enforce_eager). "
        "Load: 100-word prompts, 64 output tokens (ignore_eos), closed loop; medians of "
        f"{len(result.rounds) // 3} alternating rounds, one server up at a time. "
        f"Suite wall time: {seconds / 60:.1f} min.",
        "",
        "| comparison | gemma-serve | vLLM | ratio |",
        "|---|---|---|---|",
        f"| same settings, 16 streams, output tok/s | {f(c16_ours['output_throughput'])} | "
        f"{f(c16_vllm['output_throughput'])} | {f(c16_ours['throughput_ratio'], 3)}x |",
        f"| same settings, 1 stream, TTFT p50 ms | {f(c1_ours['ttft_p50_ms'])} | "
        f"{f(c1_vllm['ttft_p50_ms'])} | {ttft_gap:+.1f} ms |",
        f"| same settings, 16 streams, TTFT p99 ms | {f(c16_ours['ttft_p99_ms'])} | "
        f"{f(c16_vllm['ttft_p99_ms'])} | {f(c16_ours['ttft_p99_ratio'], 3)}x |",
        f"| same settings, 1 stream, ITL p50 ms | {f(c1_ours['itl_p50_ms'])} | "
        f"{f(c1_vllm['itl_p50_ms'])} | |",
        f"| vs default vLLM, 16 streams, output tok/s | {f(c16_ours['output_throughput'])} | "
        f"{f(b_vllm['output_throughput'])} | {beyond:.3f}x |",
        f"| vs default vLLM, 16 streams, TTFT p99 ms | {f(c16_ours['ttft_p99_ms'])} | "
        f"{f(b_vllm['ttft_p99_ms'])} | {beyond_p99:.3f}x |",
        "",
        "Cold start, launch to first streamed token (s): "
        + ", ".join(f"{n}: {', '.join(f'{s:.0f}' for s in v)}" for n, v in cold.items()),
        "",
        "Details: each folder's summary.md, result.json and plots.",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "results")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=40, help="per load step (count bound)")
    p.add_argument("--step-seconds", type=float, default=18, help="per load step (time bound)")
    sys.exit(asyncio.run(main(p.parse_args())))
