"""Observability for gemma-serve: edge metrics, Grafana dashboards, alert rules.

- `create_edge_metrics()` declares gemma-serve's own `gemma_serve_*` metrics, recorded
  through Ray's metrics API (each node's metrics agent exports them as `ray_gemma_serve_*`,
  per replica); `EdgeMetricsMiddleware(app, metrics=..., model=...)` measures requests.
- `gemma_serve.metrics.names` holds the vLLM and Ray Serve names as Ray exports them;
  `gemma_serve.metrics.dashboards` and `gemma_serve.metrics.alerts` the generated Grafana
  JSON and Prometheus rules that query them.
- `not_here`: the 404 the API's `/metrics` answers, naming the scrape target.
"""

from gemma_serve.metrics.edge import (
    ERROR_TYPES,
    REJECT_REASONS,
    SERVER_ERROR_TYPES,
    EdgeMetrics,
    ErrorType,
    ModelEdgeMetrics,
    RejectReason,
    create_edge_metrics,
)
from gemma_serve.metrics.middleware import EdgeMetricsMiddleware
from gemma_serve.metrics.scrape import not_here

__all__ = [
    "ERROR_TYPES",
    "REJECT_REASONS",
    "SERVER_ERROR_TYPES",
    "EdgeMetrics",
    "EdgeMetricsMiddleware",
    "ErrorType",
    "ModelEdgeMetrics",
    "RejectReason",
    "create_edge_metrics",
    "not_here",
]
