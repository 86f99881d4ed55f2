"""The API port serves no `/metrics`: Prometheus scrapes each Ray node's metrics agent.

Behind HAProxy a scrape of the API would answer for one replica chosen at
random (its counters "reset" whenever another replica answers). Every
replica's series are exported by its node's metrics agent instead
(`ray start --metrics-export-port`; `server.metrics_port` for the local
`gemma-serve serve`), labelled `ReplicaId`.
"""

from __future__ import annotations

from gemma_serve.errors import RouteNotFound

__all__ = ["METRICS_PATH", "not_here"]

METRICS_PATH = "/metrics"


def not_here(metrics_port: int | None = None) -> RouteNotFound:
    """The OpenAI-shaped 404 a `GET /metrics` on the API gets, naming the scrape target."""
    port = f" ({metrics_port} here)" if metrics_port else ""
    return RouteNotFound(
        "/metrics is not served on the API port: scrape every Ray node's metrics agent on "
        f"its metrics export port{port}, path /metrics, which exports each replica's series "
        "with a ReplicaId label"
    )
