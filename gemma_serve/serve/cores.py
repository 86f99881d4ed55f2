"""Which CPU cores a replica's engine binds: claimed on its node, never shared.

Ray reserves a replica's CPUs as a count, not as core ids, so replicas on one
node (or on several Ray nodes of one host) must agree on who binds which core.
Each replica takes an exclusive `flock` on one lock file per core, among the
cores of its own affinity mask. The kernel drops the locks when the process
(and the engine children that inherit the descriptors) exits, so a replaced
replica frees its cores without any cleanup.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gemma_serve.catalogue._quant import CpuFeature
from gemma_serve.errors import PlanError
from gemma_serve.planner import HostFacts

#: Lock files live in the node's temp dir: per host locally, per pod on Kubernetes.
_LOCK_DIR = "gemma-serve-cores"


@dataclass
class CoreClaim:
    """Cores held by this process until `release` or exit."""

    cores: list[int]
    _files: list[int] = field(default_factory=list, repr=False)

    def release(self) -> None:
        for fd in self._files:
            os.close(fd)
        self._files.clear()


def usable_cores() -> list[int]:
    """The cores this process may run on (its affinity mask: cgroup cpusets included)."""
    return sorted(os.sched_getaffinity(0))


#: /proc/cpuinfo flags behind each feature vLLM's CPU engine tests (torch.cpu._is_*_supported).
_CPU_FEATURE_FLAGS = {
    "avx512": {"avx512f", "avx512bw", "avx512vl", "avx512dq"},
    "avx512_bf16": {"avx512_bf16"},
    "amx": {"amx_tile", "amx_bf16"},
}


def cpu_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[CpuFeature, ...]:
    """The x86 features of this machine's CPUs that decide vLLM's CPU kernels."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return ()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    return tuple(f for f, need in _CPU_FEATURE_FLAGS.items() if need <= flags)  # type: ignore[misc]


def local_facts() -> HostFacts:
    """This machine, as the planner sees a node: the cores this process may use, its ISA."""
    return HostFacts(cores_per_node=len(usable_cores()), cpu_features=cpu_features())


def claim_cores(count: int, *, lock_dir: Path | None = None) -> CoreClaim:
    """Exclusively claim `count` of this process's usable cores, lowest free first."""
    directory = lock_dir or Path(tempfile.gettempdir()) / _LOCK_DIR
    directory.mkdir(parents=True, exist_ok=True)
    claim = CoreClaim(cores=[])
    for core in usable_cores():
        if len(claim.cores) == count:
            break
        fd = os.open(directory / f"core-{core}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        claim.cores.append(core)
        claim._files.append(fd)
    if len(claim.cores) < count:
        free = len(claim.cores)
        claim.release()
        raise PlanError(
            f"this node has {free} free CPU core(s) of {len(usable_cores())}, the replica binds "
            f"{count}: another engine holds the rest (lower hardware.cpu_cores or replicas)"
        )
    return claim
