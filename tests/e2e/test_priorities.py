"""Once ready, Ray's control plane yields the CPU to the engine; the data path does not."""

from __future__ import annotations

import psutil
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e


def _niceness_by_program(stack: Stack) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for p in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            program = " ".join(p.cmdline()[:3])
            found.setdefault(program, set()).add(p.nice())
        except psutil.Error:
            pass
    return found


def _nice_of(found: dict[str, set[int]], needle: str) -> set[int]:
    values = {n for program, nices in found.items() if needle in program for n in nices}
    assert values, f"no process matching {needle!r} among {sorted(found)}"
    return values


def test_control_plane_runs_at_nice_19_and_the_data_path_at_0(default_stack: Stack) -> None:
    found = _niceness_by_program(default_stack)
    for control in ("ray::ServeController", "gcs_server", "ray::ProxyActor"):
        assert _nice_of(found, control) == {19}, control
    # A replacement replica is started by the raylet and inherits its niceness.
    for data in ("ray::ServeReplica", "VLLM::EngineCore", "VLLM::Worker", "haproxy", "raylet"):
        assert _nice_of(found, data) == {0}, data
