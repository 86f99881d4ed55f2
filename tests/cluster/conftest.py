"""The cluster fixture: the chart's CPU cluster on this host, started once per session."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, running_cluster

#: Node and Ray logs of the last runs (pytest's own temp dirs rotate too fast on a shared host).
LOGS = Path(tempfile.gettempdir()) / "gemma-serve-cluster-logs"
_KEEP_RUNS = 3


@pytest.fixture(scope="session")
def ray_cluster(checkpoint_270m: Path) -> Iterator[Cluster]:
    """tests/cluster/values-cpu.yaml rendered and run like KubeRay: head + 2 CPU workers.

    Node and Ray logs are kept in LOGS/<start time>, for the last three runs.
    """
    LOGS.mkdir(exist_ok=True)
    for old in sorted(LOGS.iterdir())[: -(_KEEP_RUNS - 1)]:
        shutil.rmtree(old, ignore_errors=True)
    logs = LOGS / time.strftime("%Y%m%d-%H%M%S")
    print(f"\ncluster logs: {logs}")
    with running_cluster(keep_logs=logs) as cluster:
        steps = ", ".join(f"{step} {t:.0f} s" for step, t in cluster.timeline.items())
        print(f"cluster up: {steps}; pods restarted: {cluster.restarts or 'none'}")
        yield cluster


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Cluster tests run last, after every single-host stack has stopped (one stack at a time),
    and the shared cluster's last of all."""
    here = Path(__file__).parent

    def rank(item: pytest.Item) -> tuple[bool, bool]:
        return here in item.path.parents, "ray_cluster" in getattr(item, "fixturenames", ())

    items.sort(key=rank)
