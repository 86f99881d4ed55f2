"""SIGTERM stops the stack cleanly and leaves no process behind (runs last)."""

from __future__ import annotations

import psutil
import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.teardown_stack]


def test_sigterm_stops_everything(default_stack: Stack) -> None:
    code = default_stack.stop()
    assert code == 0, default_stack.log_tail()
    assert default_stack.descendants, "expected Ray and engine processes under the server"
    _, alive = psutil.wait_procs(default_stack.descendants, timeout=15)
    assert not alive, [(p.pid, p.name()) for p in alive]
