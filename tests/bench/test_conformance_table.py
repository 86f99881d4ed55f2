"""The conformance run's pure parts: outcomes from pytest reports, the table, the counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.conformance.collect import Collector, check_id
from benchmarks.conformance.record import (
    Check,
    CheckResult,
    ConformanceResult,
    ServerRun,
)
from benchmarks.conformance.table import cell, counts, only_failing, render
from benchmarks.environment import read_environment
from benchmarks.record import ColumnRecord

REPO = Path(__file__).resolve().parents[2]


def _column(name: str, label: str) -> ColumnRecord:
    return ColumnRecord(name=name, label=label, description="d", command=["x"], env={})


def _result(ours: dict[str, CheckResult], theirs: dict[str, CheckResult]) -> ConformanceResult:
    ids = list(dict.fromkeys([*ours, *theirs]))
    return ConformanceResult(
        created_at="2025-01-01T00:00:00+00:00",
        wall_s=600.0,
        environment=read_environment(REPO),
        versions={"vllm": "0.32.0", "ray": "2.60.0", "gemma-serve": "0.1.0"},
        model="gemma-3-270m",
        checks=[Check(id=i, mirrors=f"tests/x.py::{i.split('::')[-1]}") for i in ids],
        servers=[
            ServerRun(column=_column("gemma-serve", "gemma-serve"), launch=None, checks_s=1.0,
                      results=ours),
            ServerRun(column=_column("vllm-same-settings", "bare vLLM"), launch=None,
                      checks_s=1.0, results=theirs),
        ],
        notes={"t.py::b": "hidden on purpose | by the edge"},
    )  # fmt: skip


PASS = CheckResult(outcome="pass", duration_s=0.1)
NA = CheckResult(outcome="na", reason="needs LoRA", duration_s=0.0)


def _fail(reason: str) -> CheckResult:
    return CheckResult(outcome="fail", reason=reason, duration_s=0.1)


def test_cells_are_one_line_and_escape_pipes() -> None:
    assert cell(PASS) == "pass" and cell(NA) == "n/a" and cell(None) == "-"
    long = cell(_fail("AssertionError: a | b\n  second line " + "x" * 200))
    assert "\n" not in long and "\\|" in long and long.endswith("…")
    assert len(long) < 110


def test_counts_and_failures_only_on_one_server() -> None:
    result = _result(
        {"t.py::a": PASS, "t.py::b": _fail("404"), "t.py::c": _fail("x"), "t.py::d": NA},
        {"t.py::a": PASS, "t.py::b": PASS, "t.py::c": _fail("x"), "t.py::d": NA},
    )
    assert counts(result) == {
        "gemma-serve": {"pass": 1, "fail": 2, "na": 1},
        "vllm-same-settings": {"pass": 2, "fail": 1, "na": 1},
    }
    assert only_failing(result, "gemma-serve") == ["t.py::b"]
    assert only_failing(result, "vllm-same-settings") == []


def test_render_has_a_row_per_check_and_the_summary() -> None:
    result = _result({"t.py::a": PASS, "t.py::b": _fail("404"), "t.py::d": NA},
                     {"t.py::a": PASS, "t.py::b": PASS, "t.py::d": NA})  # fmt: skip
    page = render(result)
    assert "| gemma-serve | 1 | 1 | 1 |" in page and "| bare vLLM | 2 | 0 | 1 |" in page
    assert "Failing only on gemma-serve: 1 (`t.py::b`)" in page
    rows = [line for line in page.splitlines() if line.startswith("| `t.py::")]
    assert len(rows) == 3
    assert rows[1].endswith("| fail: 404 | pass | hidden on purpose \\| by the edge |")
    assert rows[2].endswith("| n/a | n/a | needs LoRA |")  # an n/a row says why


class _Report:
    def __init__(self, nodeid: str, when: str, outcome: str, longrepr: object = None) -> None:
        self.nodeid, self.when, self.duration, self.longrepr = nodeid, when, 0.5, longrepr
        self.failed, self.skipped = outcome == "failed", outcome == "skipped"


def test_collector_reads_outcomes_and_reasons() -> None:
    seen: list[str] = []
    c = Collector(on_done=lambda cid, r: seen.append(cid))
    node = "benchmarks/conformance/test_chat.py::test_x"
    for when in ("setup", "call", "teardown"):
        outcome = "failed" if when == "call" else "passed"
        c.pytest_runtest_logreport(_Report(node, when, outcome, "E boom\nAssertionError: no"))  # type: ignore[arg-type]
    skip = "benchmarks/conformance/test_not_applicable.py::test_not_applicable[a]"
    c.pytest_runtest_logreport(_Report(skip, "setup", "skipped", ("f", 1, "Skipped: needs LoRA")))  # type: ignore[arg-type]
    c.pytest_runtest_logreport(_Report(skip, "teardown", "passed"))  # type: ignore[arg-type]
    assert c.results["test_chat.py::test_x"] == CheckResult(
        outcome="fail", reason="AssertionError: no", duration_s=1.5
    )
    assert c.results["test_not_applicable.py::test_not_applicable[a]"].reason == "needs LoRA"
    assert seen == ["test_chat.py::test_x", "test_not_applicable.py::test_not_applicable[a]"]


@pytest.mark.parametrize(
    ("nodeid", "want"),
    [("benchmarks/conformance/test_a.py::t[x]", "test_a.py::t[x]"), ("t.py::u", "t.py::u")],
)
def test_check_id(nodeid: str, want: str) -> None:
    assert check_id(nodeid) == want
