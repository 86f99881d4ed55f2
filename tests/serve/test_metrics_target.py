"""The local scrape target: the port is checked before Ray starts, bound like the API host."""

from __future__ import annotations

import os
import socket

import pytest

from gemma_serve.errors import ClusterError
from gemma_serve.serve.runtime import _local_metrics_target


def test_loopback_api_keeps_the_metrics_agent_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _local_metrics_target("127.0.0.1", port) == f"http://127.0.0.1:{port}/metrics"
    # Ray then runs as a single-host node: its agent binds 127.0.0.1, not every interface.
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"


def test_any_other_host_binds_every_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _local_metrics_target("0.0.0.0", port) == f"http://127.0.0.1:{port}/metrics"
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ


def test_a_taken_port_is_one_line_naming_the_setting() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ClusterError, match=rf"metrics port {port} .* server.metrics_port"):
            _local_metrics_target("127.0.0.1", port)
