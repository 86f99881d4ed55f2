"""`gemma-serve status` against the running default stack: its model, replicas and nodes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.stack import ROOT, Stack

pytestmark = pytest.mark.e2e


def test_status_shows_the_model_its_replica_and_node(default_stack: Stack) -> None:
    found = re.search(rb"^ray: (\S+) ", default_stack.log_path.read_bytes(), re.M)
    assert found, default_stack.log_tail()
    proc = subprocess.run(
        [sys.executable, "-m", "gemma_serve.cli.main", "status", "--json",
         "--address", found.group(1).decode()],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    status = json.loads(proc.stdout)
    assert status["status"] == "RUNNING"
    (replica,) = status["replicas"]
    assert replica["deployment"] == "model-gemma-3-270m"
    assert replica["state"] == "RUNNING"
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", replica["node_ip"])


def test_status_of_an_unreachable_cluster_is_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gemma_serve.cli.main", "status", "--address", "127.0.0.1:1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    ours = [line for line in proc.stderr.splitlines() if line.startswith("gemma-serve:")]
    assert ours == [ours[0]] and "cannot join the Ray cluster at 127.0.0.1:1" in ours[0]
    assert "Traceback" not in proc.stderr
