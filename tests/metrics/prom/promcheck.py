"""Run a throwaway Prometheus against live targets and check that queries parse and return data.

This is the proof behind the dashboards and alerts: a real Prometheus (the
Debian `prometheus` binary) scrapes the running stack every second, loads the
rule file, and every expression goes through its HTTP API. Typical use:

    async with PrometheusServer(["127.0.0.1:8000"]) as prom:
        await prom.wait_until_up()
        ...drive load...
        report = await prom.check(all_queries())
        assert report.ok, report.summary()
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from benchmarks.ports import free_port
from gemma_serve.metrics.alerts import RULES_PATH
from tests.metrics.prom.promql import PromQuery

__all__ = ["CheckReport", "PrometheusError", "PrometheusServer"]


class PrometheusError(Exception):
    """The test Prometheus could not start, or its targets never came up."""


@dataclass
class CheckReport:
    """Outcome of evaluating queries: syntax errors, empty results, all-NaN results."""

    invalid: list[tuple[PromQuery, str]] = field(default_factory=list)
    empty: list[PromQuery] = field(default_factory=list)
    nan_only: list[PromQuery] = field(default_factory=list)
    with_data: list[PromQuery] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every query parsed and every query expected to return data did."""
        return not self.invalid and not self.empty

    def summary(self) -> str:
        lines = [f"invalid: {q.source}: {q.expr}\n    {error}" for q, error in self.invalid]
        lines += [f"no data: {q.source}: {q.expr}" for q in self.empty]
        lines += [f"only NaN: {q.source}: {q.expr}" for q in self.nan_only]
        return "\n".join(lines) or "all queries valid and returning data"


class PrometheusServer:
    """A Prometheus on a free local port with temporary storage, stopped on exit."""

    def __init__(
        self,
        targets: Sequence[str],
        *,
        rule_files: Sequence[Path] = (RULES_PATH,),
        scrape_interval: str = "1s",
        binary: str = "prometheus",
        start_timeout: float = 30.0,
    ) -> None:
        self.targets = list(targets)
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.scrape_interval = scrape_interval
        self.binary = binary
        self.start_timeout = start_timeout
        self.url = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> PrometheusServer:
        exe = shutil.which(self.binary)
        if exe is None:
            raise PrometheusError(f"{self.binary!r} not found (Debian package `prometheus`)")
        self._tmp = tempfile.TemporaryDirectory(prefix="gemma-serve-prom-")
        root = Path(self._tmp.name)
        config = {
            "global": {"scrape_interval": self.scrape_interval,
                       "evaluation_interval": self.scrape_interval},
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [{"job_name": "gemma-serve", "static_configs": [
                {"targets": self.targets}]}],
        }  # fmt: skip
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with (root / "prometheus.log").open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(
                exe, f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn", stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        self._client = httpx.AsyncClient(base_url=self.url, timeout=10.0)
        try:
            await self._wait_ready()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 10.0)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()

    def log_tail(self, lines: int = 20) -> str:
        if self._tmp is None:
            return ""
        with contextlib.suppress(OSError):
            text = (Path(self._tmp.name) / "prometheus.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.returncode is not None:
                raise PrometheusError(f"prometheus exited:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if (await self._http().get("/-/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise PrometheusError(
            f"prometheus not ready after {self.start_timeout}s:\n{self.log_tail()}"
        )

    def http(self) -> httpx.AsyncClient:
        """The HTTP client of this server (base URL: Prometheus)."""
        return self._http()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise PrometheusError("PrometheusServer used outside `async with`")
        return self._client

    async def wait_until_up(self, within: float = 30.0, samples: int = 2) -> None:
        """Until every target is up and has been scraped `samples` times (rate() needs 2)."""
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            body = (await self._http().get("/api/v1/targets")).json()
            last = body["data"]["activeTargets"]
            if len(last) == len(self.targets) and all(t["health"] == "up" for t in last):
                counts = await self.query("count_over_time(up[5m])")
                if counts and all(float(r["value"][1]) >= samples for r in counts):
                    return
            await asyncio.sleep(0.25)
        raise PrometheusError(f"targets not up after {within}s: {last}")

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant-query result list; raises PrometheusError with Prometheus's message."""
        response = await self._http().get("/api/v1/query", params={"query": expr})
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    async def check(self, queries: Sequence[PromQuery], settle: float = 10.0) -> CheckReport:
        """Evaluate each query; empty ones are retried for `settle` s (scrapes, rule runs)."""
        report = CheckReport()
        pending = list(queries)
        deadline = time.monotonic() + settle
        while True:
            retry = []
            for q in pending:
                try:
                    result = await self.query(q.expr)
                except PrometheusError as error:
                    report.invalid.append((q, str(error)))
                    continue
                if not q.expect_data:
                    continue
                if not result:
                    retry.append(q)
                elif all(math.isnan(float(r["value"][1])) for r in result):
                    report.nan_only.append(q)
                else:
                    report.with_data.append(q)
            if not retry or time.monotonic() >= deadline:
                report.empty.extend(retry)
                return report
            pending = retry
            await asyncio.sleep(1.0)

    async def rule_errors(self) -> dict[str, str]:
        """Rules whose last evaluation failed in the server (e.g. many-to-many matching)."""
        body = (await self._http().get("/api/v1/rules")).json()
        return {
            rule["name"]: rule.get("lastError", "")
            for group in body["data"]["groups"]
            for rule in group["rules"]
            if rule.get("health") == "err"
        }
