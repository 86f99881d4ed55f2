"""`gemma-serve bench`: load-test an OpenAI-compatible endpoint.

Modes: a sweep against one target (default); `--side-by-side NAME=URL` (twice
or more) for alternating rounds against several; `--parity-vllm` to check our
client against vLLM's; `--report-from FILE` to re-render a result JSON.
Every mode writes `result.json` first, then `summary.md` and plots from it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gemma_serve.bench.args import build_spec, launchers, targets
from gemma_serve.bench.compare import run_side_by_side
from gemma_serve.bench.errors import BenchError
from gemma_serve.bench.parity import check_parity
from gemma_serve.bench.progress import NoProgress, ProgressSink, RichProgress
from gemma_serve.bench.report import write_report
from gemma_serve.bench.report.text import brief_text
from gemma_serve.bench.results import (
    BenchResult,
    ParityResult,
    SideBySideResult,
    load_result,
    save_result,
)
from gemma_serve.bench.runner import run_bench
from gemma_serve.errors import ConfigError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `bench` on the main parser's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="load-test an OpenAI-compatible endpoint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t = p.add_argument_group("target")
    t.add_argument("--base-url", help="server root, e.g. http://127.0.0.1:8000")
    t.add_argument("--model", help="the `model` of every request")
    t.add_argument("--name", default="target", help="target name in reports")
    t.add_argument("--api-key", help="bearer token (default $OPENAI_API_KEY)")
    t.add_argument(
        "--launch",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="start NAME's server with COMMAND; ready when URL/health is 200",
    )
    t.add_argument(
        "--startup-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds a launched server has to become healthy",
    )

    s = p.add_argument_group("spec (or --spec FILE)")
    s.add_argument("--spec", type=Path, help="a BenchSpec as YAML/JSON (see benchmarks/)")
    s.add_argument("--api", choices=["completions", "chat"])
    s.add_argument("--dataset", choices=["synthetic", "shared-prefix", "image"])
    s.add_argument("--input-len", type=int, metavar="WORDS", help="prompt words (~tokens)")
    s.add_argument("--output-len", type=int, metavar="TOKENS")
    s.add_argument("--input-dist", choices=["fixed", "uniform", "normal"])
    s.add_argument("--output-dist", choices=["fixed", "uniform", "normal"])
    s.add_argument("--input-spread", type=float, help="uniform half-width or normal std")
    s.add_argument("--output-spread", type=float, help="uniform half-width or normal std")
    s.add_argument("--num-prefixes", type=int, help="shared-prefix: system prompts")
    s.add_argument("--system-prompt-len", type=int, metavar="WORDS")
    s.add_argument("--turns", type=int, help="shared-prefix: turns per conversation")
    s.add_argument("--image-size", metavar="WxH")
    s.add_argument("--images-per-request", type=int)
    s.add_argument("--concurrency", metavar="LIST", help="closed-loop steps, e.g. 1,4,16")
    s.add_argument("--rate", metavar="LIST", help="open-loop steps in req/s, e.g. 0.5,2")
    s.add_argument("--rate-kind", choices=["poisson", "constant"])
    s.add_argument("--burstiness", type=float, help="gamma shape of poisson gaps (1 = Poisson)")
    s.add_argument("--burst", metavar="SIZE@S,...", help="bursts of SIZE every S seconds")
    s.add_argument("--max-concurrency", type=int, help="in-flight cap for open-loop steps")
    s.add_argument("--num-prompts", type=int, help="requests per step (default 100)")
    s.add_argument("--max-seconds", type=float, help="stop sending after S seconds per step")
    s.add_argument("--warmup", type=int, help="warm-up requests before the first step")
    s.add_argument("--seed", type=int)
    s.add_argument("--timeout", type=float, help="per-request timeout in seconds")
    s.add_argument("--slo", help="goodput SLOs in ms, e.g. ttft:500,tpot:50,e2el:5000")
    s.add_argument("--extra-body", help="JSON object merged into every request")
    s.add_argument("--no-ignore-eos", action="store_true", help="let requests stop at EOS")
    s.add_argument(
        "--same-prompts",
        action="store_true",
        help="reuse one prompt set for every step (prefix caches will hit)",
    )

    m = p.add_argument_group("modes")
    m.add_argument(
        "--side-by-side",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a target for alternating rounds (give two or more)",
    )
    m.add_argument(
        "--target-model",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="model of one side-by-side target (default --model)",
    )
    m.add_argument("--rounds", type=int, default=3, help="side-by-side rounds")
    m.add_argument(
        "--baseline", metavar="NAME", help="ratios divide by this target (default first)"
    )
    m.add_argument(
        "--lifetime",
        choices=["turn", "session"],
        default="turn",
        help="launched servers: one at a time (turn) or all at once",
    )
    m.add_argument(
        "--parity-vllm", action="store_true", help="compare our client with vLLM's on --base-url"
    )
    m.add_argument("--parity-rounds", type=int, default=1)
    m.add_argument("--tolerance", type=float, default=0.10)
    m.add_argument(
        "--report-from",
        type=Path,
        metavar="JSON",
        help="only re-render summary.md and plots from a result JSON",
    )

    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, help="output directory (default ./bench-<time>)")
    o.add_argument("--no-plots", action="store_true")
    o.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)
    return p


def _progress(args: argparse.Namespace) -> ProgressSink:
    if args.no_progress or not sys.stderr.isatty():
        return NoProgress()
    return RichProgress()


def _finish(result: BenchResult | SideBySideResult | ParityResult, out: Path, plots: bool) -> int:
    save_result(result, out / "result.json")
    files = write_report(result, out, plots=plots)
    print(brief_text(result))
    print(f"wrote {out / 'result.json'} and {', '.join(f.name for f in files)}")
    return 1 if isinstance(result, ParityResult) and not result.within_tolerance else 0


async def run_async(args: argparse.Namespace) -> int:
    """Run the chosen mode; ConfigError and BenchError propagate to `run`."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out: Path = args.out or Path(f"bench-{stamp}")
    if args.report_from is not None:
        try:
            result = load_result(args.report_from)
        except OSError as exc:
            raise ConfigError(f"cannot read {args.report_from}: {exc.strerror}") from None
        except ValidationError as exc:
            raise ConfigError(
                f"{args.report_from} is not a bench result: {exc.errors()[0]['msg']}"
            ) from None
        files = write_report(result, args.out or args.report_from.parent, plots=not args.no_plots)
        print(brief_text(result))
        print(f"wrote {', '.join(str(f) for f in files)}")
        return 0
    spec = build_spec(args)
    tgts = targets(args)
    launch_by_name = launchers(args, tgts)
    progress = _progress(args)
    res: BenchResult | SideBySideResult | ParityResult
    if args.side_by_side:
        if args.parity_vllm:
            raise ConfigError("--parity-vllm runs against one target, not --side-by-side")
        res = await run_side_by_side(
            spec,
            tgts,
            rounds=args.rounds,
            launchers=launch_by_name,
            lifetime=args.lifetime,
            baseline=args.baseline,
            api_key=args.api_key,
            progress=progress,
        )
        return _finish(res, out, not args.no_plots)
    if args.parity_vllm and not 0 < args.tolerance < 1:
        raise ConfigError(f"--tolerance {args.tolerance}: expected a fraction in (0, 1)")
    launch = launch_by_name.get(tgts[0].name)
    async with launch() if launch else nullcontext():
        if args.parity_vllm:
            res = await check_parity(
                tgts[0],
                spec,
                rounds=args.parity_rounds,
                tolerance=args.tolerance,
                api_key=args.api_key,
            )
        else:
            res = await run_bench(tgts[0], spec, api_key=args.api_key, progress=progress)
    return _finish(res, out, not args.no_plots)


def run(args: argparse.Namespace) -> int:
    """Entry point for the `bench` subcommand: 0 ok, 1 run failed, 2 bad input."""
    try:
        return asyncio.run(run_async(args))
    except ConfigError as exc:
        print(f"gemma-serve: error: {exc}", file=sys.stderr)
        return 2
    except BenchError as exc:
        print(f"gemma-serve: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gemma-serve: interrupted", file=sys.stderr)
        return 130
