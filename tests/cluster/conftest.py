"""The cluster fixture: the chart's CPU cluster on this host, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, running_cluster


@pytest.fixture(scope="session")
def ray_cluster(
    checkpoint_270m: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """tests/cluster/values-cpu.yaml rendered and run like KubeRay: head + 2 CPU workers.

    Node and Ray logs are kept under pytest's temp dir (`ray-cluster-logs*`).
    """
    logs = tmp_path_factory.mktemp("ray-cluster-logs")
    with running_cluster(keep_logs=logs) as cluster:
        steps = ", ".join(f"{step} {t:.0f} s" for step, t in cluster.timeline.items())
        print(f"\ncluster up: {steps}; logs in {logs}")
        yield cluster


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Cluster tests run last, after every single-host stack has stopped (one stack at a time)."""
    items.sort(key=lambda item: "ray_cluster" in getattr(item, "fixturenames", ()))
