"""A pytest plugin that keeps every check's outcome (and drives a progress bar)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks.conformance.record import Check, CheckResult, Outcome

PREFIX = "benchmarks/conformance/"
_MIRRORS = re.compile(r"Mirrors\s+(tests/[\w/.]+\.py)::\s*([\w*]+)")


def check_id(nodeid: str) -> str:
    """`test_chat.py::test_x[p]` from the node id pytest gives."""
    return nodeid.removeprefix(PREFIX)


def mirrors(item: pytest.Item) -> str:
    """The vLLM test an item re-implements: its `mirrors` parameter, else its docstring's."""
    params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    if isinstance(params.get("mirrors"), str):
        return str(params["mirrors"])
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    m = _MIRRORS.search(doc)
    return f"{m.group(1)}::{m.group(2)}" if m else "?"


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return " ".join(str(crash.message).split())
    lines = str(longrepr).strip().splitlines()
    return lines[-1] if lines else "failed"


class Collector:
    """Keeps `checks` (collection order) and `results` (by check id)."""

    def __init__(
        self,
        on_total: Callable[[int], None] = lambda n: None,
        on_done: Callable[[str, CheckResult], None] = lambda i, r: None,
    ) -> None:
        self.checks: list[Check] = []
        self.results: dict[str, CheckResult] = {}
        self._state: dict[str, tuple[Outcome, str | None, float]] = {}
        self._on_total = on_total
        self._on_done = on_done

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The items that will run (after -k/-m deselection)."""
        self.checks = [Check(id=check_id(i.nodeid), mirrors=mirrors(i)) for i in session.items]
        self._on_total(len(session.items))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        cid = check_id(report.nodeid)
        outcome, reason, took = self._state.get(cid, ("pass", None, 0.0))
        took += report.duration
        if outcome == "pass":
            if report.failed:
                where = "" if report.when == "call" else f"(in {report.when}) "
                outcome, reason = "fail", where + _reason(report)
            elif report.skipped:
                outcome, reason = "na", _reason(report)
        self._state[cid] = (outcome, reason, took)
        if report.when == "teardown":
            result = CheckResult(outcome=outcome, reason=reason, duration_s=round(took, 3))
            self.results[cid] = result
            self._on_done(cid, result)
