"""gemma-serve's own metrics at the API edge, declared in one place.

Everything is registered by `create_edge_metrics(registry)`; nothing exists at
import time. The default registry is prometheus_client's global one because
vLLM registers its engine metrics there and its `/metrics` route serves it, so
one scrape returns both. Every series carries `model`; children for each model
are created up front (`EdgeMetrics.for_model`) so dashboards and alerts see
zeros instead of "No data" before the first error or rejection.
"""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from gemma_serve.metrics._histogram import HistogramChild, LockFreeHistogram

__all__ = [
    "E2E_BUCKETS",
    "ERROR_TYPES",
    "ITL_BUCKETS",
    "REJECT_REASONS",
    "SERVER_ERROR_TYPES",
    "TTFT_BUCKETS",
    "EdgeMetrics",
    "ErrorType",
    "ModelEdgeMetrics",
    "RejectReason",
    "create_edge_metrics",
    "error_type_for_status",
]

PREFIX = "gemma_serve_"

#: Time to first token: 10 ms (GPU, short prompt) to a minute (long prefill on CPU or a
#: deep queue). 2 s is the TTFT SLO threshold the alert rules use: keep it a bound.
TTFT_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
    1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0,
)  # fmt: skip
#: Gap between streamed chunks: ~5 ms decode steps on a GPU to a second on a loaded CPU.
ITL_BUCKETS = (
    0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075,
    0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0,
)  # fmt: skip
#: Whole request: a short non-streaming answer to an 8K-token generation.
E2E_BUCKETS = (
    0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0,
    45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
)  # fmt: skip

#: Bounded `error_type` values, derived from the outcome rather than from free text.
ErrorType = Literal[
    "bad_request",  # 400, 422
    "unauthorized",  # 401, 403
    "not_found",  # 404
    "too_large",  # 413
    "rate_limited",  # 429
    "client_error",  # any other 4xx
    "timeout",  # 408, 504
    "unavailable",  # 503
    "internal",  # 500, other 5xx, or the app raised
    "stream_error",  # an error event inside a 200 SSE stream
    "client_disconnected",  # the client left before the response ended (status 499)
]
ERROR_TYPES: tuple[ErrorType, ...] = get_args(ErrorType)
#: The types counted against the server in error-rate panels and alerts.
SERVER_ERROR_TYPES: tuple[ErrorType, ...] = ("internal", "unavailable", "timeout", "stream_error")

#: Why a request was turned away before reaching the engine (set by the admission code).
RejectReason = Literal["queue_full", "rate_limited", "overloaded", "too_large", "unauthorized"]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)

_STATUS_ERRORS: dict[int, ErrorType] = {
    400: "bad_request", 422: "bad_request", 401: "unauthorized", 403: "unauthorized",
    404: "not_found", 413: "too_large", 429: "rate_limited", 408: "timeout", 504: "timeout",
    503: "unavailable",
}  # fmt: skip


def error_type_for_status(status: int) -> ErrorType | None:
    """The `error_type` of an HTTP status, or None for success."""
    if status < 400:
        return None
    return _STATUS_ERRORS.get(status, "client_error" if status < 500 else "internal")


class ModelEdgeMetrics:
    """The children of one served model, bound once so the hot path never calls `labels()`."""

    def __init__(self, metrics: EdgeMetrics, model: str) -> None:
        self.model = model
        self._metrics = metrics
        self.in_flight = metrics.in_flight.labels(model)
        self.ttft = metrics.ttft.labels(model)
        self.itl: HistogramChild = metrics.itl.labels(model)
        self.e2e = metrics.e2e.labels(model)
        self.prompt_tokens = metrics.prompt_tokens.labels(model)
        self.generation_tokens = metrics.generation_tokens.labels(model)
        self._images = metrics.images.labels(model)
        self._queued = metrics.queued.labels(model)
        self._errors = {t: metrics.errors.labels(model, t) for t in ERROR_TYPES}
        self._rejected = {r: metrics.rejected.labels(model, r) for r in REJECT_REASONS}
        self._adapter_loads = metrics.adapter_loads.labels(model)
        self._adapter_evictions = metrics.adapter_evictions.labels(model)
        self._adapters_loaded = metrics.adapters_loaded.labels(model)
        self._by_status: dict[str, Counter] = {}

    def count_request(self, status: str) -> None:
        """One finished request with this HTTP status ("499": the client left)."""
        child = self._by_status.get(status)
        if child is None:
            child = self._by_status[status] = self._metrics.requests.labels(self.model, status)
        child.inc()

    def count_error(self, error_type: ErrorType) -> None:
        """One failed request; the middleware calls it, other edge code may too."""
        self._errors[error_type].inc()

    def count_rejected(self, reason: RejectReason, count: int = 1) -> None:
        """Requests refused before the engine saw them."""
        self._rejected[reason].inc(count)

    def count_images(self, count: int) -> None:
        """Images received in requests for this model."""
        if count:
            self._images.inc(count)

    def set_queued(self, count: int) -> None:
        """Requests waiting at the edge for an engine slot (this process's queue)."""
        self._queued.set(count)

    def set_replicas(self, healthy: int, desired: int | None = None) -> None:
        """Replica counts as the reporter sees them; dashboards take the max across reporters."""
        self._metrics.replicas.labels(self.model).set(healthy)
        if desired is not None:
            self._metrics.replicas_desired.labels(self.model).set(desired)

    def count_adapter_load(self) -> None:
        """One dynamic LoRA adapter loaded on this replica (first use or admin)."""
        self._adapter_loads.inc()

    def count_adapter_eviction(self) -> None:
        """One dynamic LoRA adapter evicted from this replica's LRU."""
        self._adapter_evictions.inc()

    def set_adapters_loaded(self, count: int) -> None:
        """Dynamic LoRA adapters this replica holds now."""
        self._adapters_loaded.set(count)

    def set_max_ongoing_requests(self, per_replica: int) -> None:
        """Per-replica concurrency limit, the denominator of the saturation panel."""
        self._metrics.max_ongoing.labels(self.model).set(per_replica)


class EdgeMetrics:
    """All edge metrics of one registry. Create it once per process and share it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        m, ms = ["model"], ["model", "status"]
        self.requests = Counter(
            f"{PREFIX}requests_total", "Finished API requests by HTTP status (499: client left).",
            ms, registry=registry,
        )  # fmt: skip
        self.errors = Counter(
            f"{PREFIX}request_errors_total", "Failed API requests by error type.",
            ["model", "error_type"], registry=registry,
        )  # fmt: skip
        self.in_flight = Gauge(
            f"{PREFIX}requests_in_flight", "API requests being served now.", m, registry=registry
        )
        self.queued = Gauge(
            f"{PREFIX}requests_queued", "Requests waiting at the edge for an engine slot.",
            m, registry=registry,
        )  # fmt: skip
        self.rejected = Counter(
            f"{PREFIX}requests_rejected_total", "Requests refused before reaching the engine.",
            ["model", "reason"], registry=registry,
        )  # fmt: skip
        self.ttft = Histogram(
            f"{PREFIX}time_to_first_token_seconds",
            "Time from request arrival to the first response bytes (first SSE event).",
            m, buckets=TTFT_BUCKETS, registry=registry,
        )  # fmt: skip
        self.itl = LockFreeHistogram(
            f"{PREFIX}inter_token_latency_seconds",
            "Gap between consecutive SSE events of a streamed response.",
            m, ITL_BUCKETS, registry,
        )  # fmt: skip
        self.e2e = Histogram(
            f"{PREFIX}e2e_request_latency_seconds",
            "Time from request arrival to the last response byte, successful requests.",
            m, buckets=E2E_BUCKETS, registry=registry,
        )  # fmt: skip
        self.prompt_tokens = Counter(
            f"{PREFIX}prompt_tokens_total", "Prompt tokens of finished requests.", m,
            registry=registry,
        )  # fmt: skip
        self.generation_tokens = Counter(
            f"{PREFIX}generation_tokens_total", "Generated tokens of finished requests.", m,
            registry=registry,
        )  # fmt: skip
        self.images = Counter(
            f"{PREFIX}images_total", "Images received in requests.", m, registry=registry
        )
        self.replicas = Gauge(
            f"{PREFIX}replicas", "Healthy serving replicas.", m, registry=registry
        )
        self.replicas_desired = Gauge(
            f"{PREFIX}replicas_desired", "Replicas the autoscaler wants.", m, registry=registry
        )
        self.max_ongoing = Gauge(
            f"{PREFIX}max_ongoing_requests", "Per-replica limit on concurrent requests.",
            m, registry=registry,
        )  # fmt: skip
        self.adapter_loads = Counter(
            f"{PREFIX}lora_adapter_loads_total",
            "Dynamic LoRA adapters loaded (first use of a name, or the admin endpoint).",
            m, registry=registry,
        )  # fmt: skip
        self.adapter_evictions = Counter(
            f"{PREFIX}lora_adapter_evictions_total",
            "Dynamic LoRA adapters evicted by the replica's LRU (lora.max_cpu_loras).",
            m, registry=registry,
        )  # fmt: skip
        self.adapters_loaded = Gauge(
            f"{PREFIX}lora_adapters_loaded", "Dynamic LoRA adapters loaded on the replica.",
            m, registry=registry,
        )  # fmt: skip
        self._models: dict[str, ModelEdgeMetrics] = {}

    def for_model(self, model: str) -> ModelEdgeMetrics:
        """The bound children of `model`, created with zero values on first call."""
        found = self._models.get(model)
        if found is None:
            found = self._models[model] = ModelEdgeMetrics(self, model)
        return found


def create_edge_metrics(registry: CollectorRegistry = REGISTRY) -> EdgeMetrics:
    """Register the edge metrics in `registry` (once per registry: a second call raises)."""
    return EdgeMetrics(registry)
