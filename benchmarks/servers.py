"""The servers the suite compares, each a command the suite starts and stops.

- gemma-serve: `gemma-serve serve --config FILE` (its planner decides everything);
- bare vLLM, same settings: vLLM's OpenAI server with the plan's vLLM argv and engine env;
- Ray Serve LLM: `serve run` on a config running the same engine (see `rayllm`);
- default vLLM: vLLM's OpenAI server with only the model and, since vLLM's true
  default reserves 92% of RAM and cannot start beside anything else, the plan's
  `VLLM_CPU_KVCACHE_SPACE`; it compiles and picks its own thread binding.

A `Server` starts one, records the time to its first streamed token and the
time to stop, and makes sure no process of it outlives the stop (Ray's workers
run in process groups of their own, so the group kill alone would miss them).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import yaml

from benchmarks.planned import PlannedModel
from benchmarks.ports import free_port
from benchmarks.rayllm import SERVE_ENV, serve_config
from benchmarks.record import ColumnRecord, Launch
from benchmarks.vllm_args import parse_vllm_argv
from gemma_serve.bench.errors import BenchError
from gemma_serve.bench.launch import SubprocessLauncher

OURS, SAME, RAY, DEFAULT = "gemma-serve", "vllm-same-settings", "ray-serve-llm", "vllm-default"
Say = Callable[[str], None]


@dataclass(frozen=True)
class Column:
    """One server under test: what to run and where it answers."""

    name: str
    label: str
    description: str
    command: list[str]
    env: dict[str, str]
    port: int
    config: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self) -> ColumnRecord:
        return ColumnRecord(
            name=self.name,
            label=self.label,
            description=self.description,
            command=self.command,
            env=self.env,
            config=self.config,
        )


#: Not part of Ray Serve LLM's mode but of this machine: the load generator runs beside the
#: server, and Ray starts workers (the replica, hence the engine) at niceness 15, so the
#: engine would yield to the client, which a remote client never causes. gemma-serve runs
#: its workers at 0 too. No usage report either: this host has no network to send it to.
FAIR_ENV = {"RAY_worker_niceness": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _vllm_server(argv: list[str], port: int) -> list[str]:
    return [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", *argv,
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


def _ray_ports(ray_tmp: Path) -> dict[str, str]:
    """Ray on a shared host: its own temp dir, and free ports for what Serve binds beside the
    API port (HAProxy's metrics and stats, the fallback proxy's 8500 and 9500), none of
    them on the data path; another stack holding 8500 makes Serve's proxy fail its checks."""
    return {
        "RAY_TMPDIR": str(ray_tmp),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port()),
        "RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()),
        "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(free_port()),
        "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT": str(free_port()),
    }


def columns(config: Path, planned: PlannedModel, out: Path, ray_tmp: Path) -> list[Column]:
    """The four servers, in run order: the slow starters first and last, so that with the
    mirror order their back-to-back turns share one start; gemma-serve beside bare vLLM."""
    argv, env = planned.launch.vllm_argv, planned.launch.env
    args = parse_vllm_argv(argv)
    default_argv = ["--model", str(args["model"])]
    default_argv += ["--served-model-name", *args.get("served_model_name", [planned.name])]
    default_env = {k: v for k, v in env.items() if k == "VLLM_CPU_KVCACHE_SPACE"}
    ray_port = free_port()
    ray_yaml = out / "ray-serve-llm.yaml"
    ray_yaml.write_text(
        "# Written by benchmarks/run_all.py: Ray Serve LLM with gemma-serve's engine settings.\n"
        + yaml.safe_dump(
            serve_config(
                argv,
                env,
                port=ray_port,
                accelerator="cpu" if planned.accelerator.name == "cpu" else "gpu",
            ),
            sort_keys=False,
        )
    )
    ours_port, same_port, default_port = free_port(), free_port(), free_port()
    return [
        Column(
            name=DEFAULT,
            label="default vLLM",
            description="vLLM's defaults (compiled, its own thread binding); only the model "
            "and the KV cache size given",
            command=_vllm_server(default_argv, default_port),
            env=default_env,
            port=default_port,
        ),
        Column(
            name=RAY,
            label="Ray Serve LLM",
            description="ray.serve.llm build_openai_app with the same engine settings: HAProxy, "
            "direct streaming, stream_batching_interval_ms 0, max_ongoing_requests bounded",
            command=[
                str(Path(sys.executable).with_name("serve")),
                "run",
                "-a",
                "local",
                str(ray_yaml),
            ],
            env={**SERVE_ENV, **FAIR_ENV, **_ray_ports(ray_tmp)},
            port=ray_port,
            config=ray_yaml.name,
        ),
        Column(
            name=OURS,
            label="gemma-serve",
            description=f"gemma-serve serve --config {config}",
            command=[
                sys.executable,
                "-m",
                "gemma_serve.cli.main",
                "serve",
                "--config",
                str(config),
                "--port",
                str(ours_port),
            ],
            env=_ray_ports(ray_tmp),
            port=ours_port,
        ),
        Column(
            name=SAME,
            label="bare vLLM, same settings",
            description="vLLM's OpenAI server with gemma-serve's vLLM argv and engine env",
            command=_vllm_server(list(argv), same_port),
            env=dict(env),
            port=same_port,
        ),
    ]


@dataclass
class Server:
    """Starts a column's server; ready at its first streamed token; leaves nothing behind."""

    column: Column
    model: str
    log_dir: Path
    say: Say = print
    startup_timeout_s: float = 900.0
    stop_timeout_s: float = 60.0
    #: A start that fails (on a busy host Ray's node may miss its 30 s to register) is
    #: tried again, up to this many times in all; every failure is reported.
    start_attempts: int = 2
    launches: list[Launch] = field(default_factory=list)

    def __call__(self) -> AbstractAsyncContextManager[None]:
        return self._run()

    @asynccontextmanager
    async def _run(self) -> AsyncIterator[None]:
        for attempt in range(1, self.start_attempts + 1):
            stack = AsyncExitStack()
            try:
                await stack.enter_async_context(self._once())
            except BenchError as exc:
                if attempt == self.start_attempts:
                    raise
                self.say(f"{self.column.name}: start {attempt} failed ({exc}); trying again")
                continue
            async with stack:
                yield
            return

    @asynccontextmanager
    async def _once(self) -> AsyncIterator[None]:
        name = self.column.name
        launcher = SubprocessLauncher(
            argv=self.column.command,
            health_url=self.column.base_url + "/health",
            env=self.column.env,
            log_path=self.log_dir / f"{name}.log",
            startup_timeout_s=self.startup_timeout_s,
            stop_timeout_s=self.stop_timeout_s,
        )
        self.say(f"{name}: starting")
        started = time.monotonic()
        ready: float | None = None
        stopping = started
        try:
            async with launcher():
                try:
                    await self._first_token()
                    ready = time.monotonic() - started
                    self.say(f"{name}: first token {ready:.1f} s after launch")
                    yield
                finally:
                    stopping = time.monotonic()
        finally:
            # The launcher has stopped the server and its group; Ray's workers have
            # groups of their own but stay in the server's session.
            left = kill_session(launcher.pid)
            if left:
                self.say(f"{name}: killed {len(left)} processes left after the stop: {left}")
        stopped = time.monotonic() - stopping
        self.say(f"{name}: stopped in {stopped:.1f} s")
        if ready is not None:
            self.launches.append(Launch(ready_s=ready, stop_s=stopped))

    async def _first_token(self) -> None:
        body = {"model": self.model, "prompt": "Hello", "max_tokens": 1, "stream": True}
        url = self.column.base_url + "/v1/completions"
        async with (
            httpx.AsyncClient(timeout=120, trust_env=False) as client,
            client.stream("POST", url, json=body) as r,
        ):
            if r.status_code != 200:
                text = (await r.aread()).decode(errors="replace")[:300]
                raise BenchError(
                    f"{self.column.name}: first request got HTTP {r.status_code}: {text}"
                )
            async for line in r.aiter_lines():
                if line.startswith("data: {"):
                    return
        raise BenchError(f"{self.column.name}: the first request streamed no token")


def kill_session(session: int | None) -> list[str]:
    """SIGKILL every process still in `session` (the server's pid), wait for them; their names."""
    if session is None:
        return []
    killed: list[psutil.Process] = []
    for p in psutil.process_iter(["name"]):
        try:
            if os.getsid(p.pid) != session or p.status() == psutil.STATUS_ZOMBIE:
                continue
            p.kill()
            killed.append(p)
        except (OSError, psutil.Error):
            continue
    psutil.wait_procs(killed, timeout=10)
    return [str(p.info["name"]) for p in killed]
