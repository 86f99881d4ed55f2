"""Starting and stopping servers under test.

A launcher is anything callable with no arguments that returns an async
context manager: the server runs inside `async with launcher():`. A plain
`@asynccontextmanager` function qualifies; `SubprocessLauncher` is the generic
one (start a command, wait for its health URL, stop its whole process group).
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from gemma_serve.bench.errors import LaunchError


class Launcher(Protocol):
    """Starts a server on `__aenter__`, stops it on `__aexit__`."""

    def __call__(self) -> AbstractAsyncContextManager[object]: ...


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class SubprocessLauncher:
    """Runs `argv` in its own process group until GET `health_url` answers 200.

    Output goes to `log_path` (default a temporary file, removed after a clean
    stop). On exit the server gets SIGTERM, its group SIGKILL after `stop_timeout_s`,
    so engine subprocesses never outlive the benchmark.
    """

    argv: Sequence[str]
    health_url: str
    startup_timeout_s: float = 300.0
    stop_timeout_s: float = 30.0
    env: Mapping[str, str] | None = None
    log_path: Path | None = None
    poll_interval_s: float = 1.0
    #: The pid of the server started last (also its process group and session id), so a
    #: caller can find what the server left behind even when it failed to start.
    pid: int | None = field(default=None, init=False)

    def __call__(self) -> AbstractAsyncContextManager[int]:
        return self._run()

    @asynccontextmanager
    async def _run(self) -> AsyncIterator[int]:
        if await self._healthy():
            raise LaunchError(f"{self.health_url} already answers: another server holds the port")
        temp = self.log_path is None
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="gemma-serve-bench-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        else:
            log_path = self.log_path
            log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {})}
        with log_path.open("ab") as log:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *self.argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise LaunchError(f"cannot start {self.argv[0]}: {exc.strerror}") from None
        self.pid = proc.pid
        try:
            await self._wait_healthy(proc, log_path)
            yield proc.pid
        finally:
            await self._stop(proc)
        if temp:
            log_path.unlink(missing_ok=True)

    async def _healthy(self) -> bool:
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            try:
                return (await http.get(self.health_url)).status_code == 200
            except httpx.HTTPError:
                return False

    async def _wait_healthy(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            while True:
                if proc.returncode is not None:
                    raise LaunchError(
                        f"{self.argv[0]} exited with code {proc.returncode} before "
                        f"{self.health_url} was healthy (log {log})",
                        log_tail=_tail(log),
                    )
                try:
                    if (await http.get(self.health_url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() >= deadline:
                    raise LaunchError(
                        f"{self.health_url} not healthy after {self.startup_timeout_s:g} s "
                        f"(log {log})",
                        log_tail=_tail(log),
                    )
                try:
                    await asyncio.wait_for(proc.wait(), self.poll_interval_s)
                except TimeoutError:
                    pass

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        # SIGTERM to the server alone, as Kubernetes or `kill` would send it: it shuts its
        # own children down gracefully (a Ray driver shares its group with every Ray process).
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), self.stop_timeout_s)
        except TimeoutError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()
