"""The API port serves no `/metrics`: Prometheus scrapes each Ray node's metrics agent.

Behind HAProxy a scrape of the API would answer for one replica chosen at
random (its counters "reset" whenever another replica answers). Every
replica's series are exported by its node's metrics agent instead
(`ray start --metrics-export-port`; `server.metrics_port` for the local
`gemma-serve serve`), labelled `ReplicaId`.
"""

from __future__ import annotations

from typing import Any

from gemma_serve.errors import NotFound

__all__ = ["METRICS_PATH", "MetricsElsewhere", "not_here"]

METRICS_PATH = "/metrics"


def not_here(metrics_port: int | None = None) -> NotFound:
    """The OpenAI-shaped 404 a `GET /metrics` on the API gets, naming the scrape target."""
    port = f" ({metrics_port} here)" if metrics_port else ""
    return NotFound(
        "/metrics is not served on the API port: scrape every Ray node's metrics agent on "
        f"its metrics export port{port}, path /metrics, which exports each replica's series "
        "with a ReplicaId label"
    )


class MetricsElsewhere:
    """Pure ASGI: `/metrics` raises the 404 above (the error edge renders it); the rest passes.

    vLLM's app mounts prometheus_client's `/metrics`; with the engine's metrics
    recorded through Ray, it would only show this process's Python runtime.
    """

    def __init__(self, app: Any, *, metrics_port: int | None = None) -> None:
        self.app = app
        self._port = metrics_port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == METRICS_PATH:
            raise not_here(self._port)
        await self.app(scope, receive, send)
