"""The benchmark suite on this machine: `python -m benchmarks.run_all` (`--quick`: a smoke test).

1. Side by side, one server up at a time, alternating rounds in mirror order
   (D R G V, V G R D, D R G V: each server's average position is the same, and
   the one at a round boundary keeps running for its two turns):
   gemma-serve (`configs/default.yaml`), vLLM's own server with the vLLM argv and
   engine env gemma-serve's planner gives its replica (`gemma-serve plan --json`),
   Ray Serve LLM with the same engine settings, and a default vLLM. Each turn
   runs 16 requests at 1 stream, then 128 at 16 streams.
2. Cold start: every launch, to the first streamed token.
3. Our client against vLLM's benchmark client, on bare vLLM's last turn.

Writes into --out: side-by-side/ (result.json, summary.md, plot), client-parity/,
ray-serve-llm.yaml (the Serve config it ran), suite.json (versions and machine
read at run time, the servers' commands, every start) and README.md; a run into
the committed benchmarks/results/ also regenerates README.md's table.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import readme
from benchmarks.environment import read_environment
from benchmarks.estimate import estimate_seconds
from benchmarks.planned import planned_model
from benchmarks.record import SuiteRecord
from benchmarks.servers import SAME, Column, Say, Server, columns
from gemma_serve.bench.compare import run_side_by_side
from gemma_serve.bench.errors import BenchError, LaunchError
from gemma_serve.bench.parity import check_parity
from gemma_serve.bench.report import write_report
from gemma_serve.bench.results import ParityResult, SideBySideResult, save_result
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.errors import GemmaServeError

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
#: Defaults of a full run: the statistical power the comparison needs (issue 15).
FULL = {"rounds": 3, "one_stream": 16, "sixteen_streams": 128, "warmup": 2, "parity_requests": 24}
#: Defaults of `--quick`: every server starts, serves and stops once.
QUICK = {"rounds": 1, "one_stream": 4, "sixteen_streams": 32, "warmup": 1, "parity_requests": 8}


def spec(one_stream: int, sixteen_streams: int, warmup: int) -> BenchSpec:
    """The anchors' load: 100-word prompts, exactly 64 output tokens, closed loop at 1 and 16."""
    return BenchSpec.model_validate(
        {
            "dataset": {
                "kind": "synthetic",
                "input_len": {"kind": "fixed", "value": 100},
                "output_len": {"kind": "fixed", "value": 64},
            },
            "loads": [
                {"kind": "concurrent", "concurrency": 1, "num_requests": one_stream},
                {"kind": "concurrent", "concurrency": 16, "num_requests": sixteen_streams},
            ],
            "num_requests": sixteen_streams,
            "warmup_requests": warmup,
        }
    )


def parity_spec(load: BenchSpec, requests: int) -> BenchSpec:
    """One step at 4 streams (vLLM's client has no time bound: keep it short)."""
    step = load.loads[0].model_copy(update={"concurrency": 4, "num_requests": requests})
    return load.model_copy(update={"loads": [step], "num_requests": requests})


def _say(started: float) -> Say:
    def say(message: str) -> None:
        minutes, seconds = divmod(time.monotonic() - started, 60)
        print(f"[{int(minutes):02d}:{seconds:04.1f}] {message}", file=sys.stderr, flush=True)

    return say


def save(result: SideBySideResult | ParityResult, out: Path) -> None:
    save_result(result, out / "result.json")
    write_report(result, out)


async def measure(
    args: argparse.Namespace, cols: list[Column], servers: dict[str, Server], model: str, say: Say
) -> tuple[SideBySideResult, ParityResult | None]:
    """The side-by-side rounds, and the client parity check on bare vLLM's last turn."""
    targets = [Target(name=c.name, base_url=c.base_url, model=model) for c in cols]
    load = spec(args.one_stream, args.sixteen_streams, args.warmup)
    parities: list[ParityResult] = []

    async def after_turn(round_: int, target: Target) -> None:
        say(f"round {round_} {target.name}: done")
        if args.parity and round_ == args.rounds - 1 and target.name == SAME:
            say(f"{target.name}: client parity ({args.parity_requests} requests, 4 streams)")
            parities.append(await check_parity(target, parity_spec(load, args.parity_requests)))

    result = await run_side_by_side(
        load,
        targets,
        rounds=args.rounds,
        launchers=servers,
        lifetime="turn",
        order="mirror",
        baseline=SAME,
        after_turn=after_turn,
    )
    return result, (parities[0] if parities else None)


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    say = _say(started)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    environment = read_environment(REPO)
    say(f"planning {args.config} (gemma-serve plan --json)")
    planned = planned_model(args.config, cwd=REPO)
    ray_tmp = Path(tempfile.mkdtemp(prefix="gsb-ray-"))
    try:
        cols = columns(args.config, planned, out, ray_tmp)
        servers = {
            c.name: Server(
                c, planned.name, out / "logs", say=say, startup_timeout_s=args.startup_timeout
            )
            for c in cols
        }
        result, parity = asyncio.run(measure(args, cols, servers, planned.name, say))
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    save(result, out / "side-by-side")
    if parity is not None:
        save(parity, out / "client-parity")
    (out / "cold-start.json").unlink(missing_ok=True)  # the suite record holds every start now
    record = SuiteRecord(
        created_at=created,
        quick=args.quick,
        wall_s=time.monotonic() - started,
        environment=environment,
        model=planned.name,
        rounds=args.rounds,
        columns=[c.record() for c in cols],
        launches={name: s.launches for name, s in servers.items()},
        side_by_side="side-by-side/result.json",
        parity="client-parity/result.json" if parity is not None else None,
    )
    (out / "suite.json").write_text(record.model_dump_json(indent=1) + "\n")
    committed = out.resolve() == readme.RESULTS.resolve()
    for path, text in readme.pages(out, readme.REPO / "README.md" if committed else None).items():
        path.write_text(text)
    print((out / "README.md").read_text())
    say(f"suite done in {record.wall_s / 60:.1f} min; results in {out}")
    if args.quick:
        full = estimate_seconds(
            record,
            result,
            parity,
            spec(FULL["one_stream"], FULL["sixteen_streams"], FULL["warmup"]),
            rounds=FULL["rounds"],
            parity_requests=FULL["parity_requests"],
        )
        say(f"from this run's timings, the full suite would take about {full / 60:.0f} min")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__)
    p.add_argument("--config", type=Path, default=REPO / "configs" / "default.yaml")
    p.add_argument("--out", type=Path, help="results directory (default benchmarks/results)")
    p.add_argument("--rounds", type=int, help="alternating rounds (default 3)")
    p.add_argument("--one-stream", type=int, help="requests of the 1-stream step (default 16)")
    p.add_argument("--sixteen-streams", type=int, help="requests of the 16-stream step (128)")
    p.add_argument("--warmup", type=int, help="warm-up requests per turn (default 2)")
    p.add_argument("--parity-requests", type=int, help="requests per client (default 24)")
    p.add_argument("--no-parity", dest="parity", action="store_false")
    p.add_argument(
        "--startup-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="seconds a server has to answer its first token (default vLLM compiles)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: one round, 4 + 32 requests, into a temporary directory",
    )
    args = p.parse_args(argv)
    quick = {"rounds": 1, "one_stream": 4, "sixteen_streams": 32, "warmup": 1, "parity_requests": 8}
    full = {
        "rounds": 3,
        "one_stream": 16,
        "sixteen_streams": 128,
        "warmup": 2,
        "parity_requests": 24,
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        quick_dir = (
            Path(tempfile.mkdtemp(prefix="gemma-serve-suite-quick-")) if args.quick else None
        )
        args.out = quick_dir or readme.RESULTS
    return args


def run(argv: list[str] | None = None) -> int:
    try:
        return main(parse(argv))
    except LaunchError as exc:
        print(f"run_all: error: {exc}", file=sys.stderr)
        if exc.log_tail:
            print(exc.log_tail, file=sys.stderr)
        return 1
    except (BenchError, GemmaServeError) as exc:
        print(f"run_all: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("run_all: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run())
