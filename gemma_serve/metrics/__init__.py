"""Observability for gemma-serve: edge metrics, Grafana dashboards, alert rules, live checks.

- `create_edge_metrics(registry)` declares gemma-serve's own `gemma_serve_*` metrics;
  `EdgeMetricsMiddleware(app, metrics=..., model=...)` measures completion requests.
- `gemma_serve.metrics.dashboards` and `gemma_serve.metrics.alerts` hold the
  generated Grafana JSON and Prometheus rules; `vllm_names` the vLLM V1 names they use.
- `gemma_serve.metrics.promcheck` runs a real Prometheus to prove every query returns data.
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
]
