"""Start the real gemma-serve stack (Ray Serve + vLLM) as a subprocess, once per config."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import psutil

from benchmarks.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 600
#: What `gemma-serve serve` prints once every replica of every model runs.
READY_LINE = b"ready in "


@dataclass
class Stack:
    """A running `gemma-serve serve` process and where to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    #: The Ray node's metrics agent (`server.metrics_port`): the one scrape target.
    metrics_port: int = 0
    api_key: str = "unused"
    haproxy_metrics_port: int = 0
    descendants: list[psutil.Process] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def scrape_target(self) -> str:
        """host:port Prometheus scrapes (path /metrics)."""
        return f"127.0.0.1:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.scrape_target}/metrics"

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 120) -> int:
        """SIGTERM, wait, and return the exit code; kill stragglers if any."""
        self.descendants = _descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            # Whatever is left of the session (Ray, engines) goes with it.
            os.killpg(self.process.pid, signal.SIGKILL)
            for p in self.descendants:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            self.process.wait()
            return -9


#: Ray's metrics agent gets each process's values every `metrics_report_interval_ms`
#: (10 s by default; test stacks report every 2 s, so tests wait less for the same
#: export path) and keeps a gauge for two intervals: what a scrape shows can be that old.
METRICS_REPORT_MS = 2000
METRICS_LAG_S = 4 * METRICS_REPORT_MS / 1000


def prefill_repeats(
    stack: Stack, model: str, sentence: str, *, seconds: float = 1.5, base: int = 75,
    most: int = 280,
) -> int:  # fmt: skip
    """How often `sentence` repeats in a prompt this host prefills in about `seconds`.

    Tests that need requests waiting in the engine size their prompts with it: an
    AVX2 host prefills the 270M in bf16 at ~75 tokens/s, an AMX host about fifty
    times faster, so a fixed prompt queues on one and never on the other.
    `base` repeats are timed alone (a prompt unlike any test's: no prefix-cache hit);
    `most` keeps the prompt inside the default 4K context.
    """
    body = {"model": model, "prompt": f"Calibrate {time.time_ns()}: " + sentence * base,
            "max_tokens": 1}  # fmt: skip
    began = time.monotonic()
    r = httpx.post(stack.base_url + "/completions", json=body, headers=stack.headers, timeout=300)
    r.raise_for_status()
    took = time.monotonic() - began
    return max(base, min(most, round(base * seconds / max(took, 1e-3))))


def running_requests(stack: Stack) -> float:
    """vLLM's own count of requests the engines run (all replicas), from the scrape target.

    Up to METRICS_LAG_S old: compare with `wait_running`, not once. An idle engine
    stops reporting, and Ray's agent drops its gauges: no series reads 0.
    """
    text = httpx.get(stack.metrics_url, timeout=10).text
    found = re.findall(r"^ray_vllm_num_requests_running\{[^}]*\} ([0-9.e+-]+)$", text, re.M)
    return sum(float(v) for v in found)


def wait_running(stack: Stack, expected: float, within: float = METRICS_LAG_S + 10) -> None:
    """Until the exported running-request count is `expected` (AssertionError after `within`)."""
    deadline = time.monotonic() + within
    seen = running_requests(stack)
    while seen != expected:
        assert time.monotonic() < deadline, f"engines run {seen} requests, expected {expected}"
        time.sleep(0.5)
        seen = running_requests(stack)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def start_stack(
    args: list[str], log_path: Path, env: dict[str, str] | None = None, api_key: str = "unused"
) -> Stack:
    """Start `gemma-serve serve ARGS`; return once every replica runs and /health answers 200.

    /health is 200 as soon as one replica of each model can serve; the
    "ready" line waits for all of them (Serve's application RUNNING).
    """
    port, haproxy_metrics_port, metrics_port = free_port(), free_port(), free_port()
    # HAProxy's and Ray's metrics ports too, so stacks can overlap during a session.
    ports = ["--port", str(port), "--set", f"server.haproxy_metrics_port={haproxy_metrics_port}",
             "--set", f"server.metrics_port={metrics_port}"]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gemma_serve.cli.main", "serve", *ports, *args],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Ray Serve's fallback proxy (8500 by default), which another stack may hold.
        env={
            **os.environ,
            "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(free_port()),
            "RAY_metrics_report_interval_ms": str(METRICS_REPORT_MS),
            **(env or {}),
        },
        start_new_session=True,
    )
    stack = Stack(
        proc, port, log_path, metrics_port=metrics_port, api_key=api_key,
        haproxy_metrics_port=haproxy_metrics_port,
    )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gemma-serve exited with {proc.returncode}:\n{stack.log_tail()}")
        try:
            ready = READY_LINE in log_path.read_bytes()
            if ready and httpx.get(stack.url + "/health", timeout=2).status_code == 200:
                return stack
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stack.stop()
    raise TimeoutError(f"gemma-serve not healthy after {READY_TIMEOUT_S}s:\n{stack.log_tail()}")
