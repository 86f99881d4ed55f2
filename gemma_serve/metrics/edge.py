"""gemma-serve's own metrics at the API edge, declared in one place.

They are recorded through Ray's metrics API (`ray.util.metrics`), like vLLM's
engine metrics (vLLM's `RayPrometheusStatLogger`): each Ray node's metrics agent
exports every replica of that node on the node's metrics export port, so a
scrape never answers for one replica chosen at random. Ray prefixes exported
names with `ray_` and counters with `_total` (`Spec.exported`). Every series
carries `model` and `ReplicaId`, the Serve replica, the tag vLLM's Ray logger
puts on the engine series.

Nothing exists at import time: `create_edge_metrics()` builds the instruments
once per replica process. Ray counters cannot be created at zero; a series
appears with its first event. A Ray gauge is exported only when set, and the
agent drops it two report intervals later: `keep_gauges_fresh` re-sets ours
every report interval, as Serve's controller does with its replica gauge.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol, get_args

__all__ = [
    "E2E_BUCKETS",
    "ERROR_TYPES",
    "ITL_BUCKETS",
    "REJECT_REASONS",
    "REPLICA_TAG",
    "SERVER_ERROR_TYPES",
    "SPECS",
    "TTFT_BUCKETS",
    "EdgeMetrics",
    "ErrorType",
    "MetricsBackend",
    "ModelEdgeMetrics",
    "RejectReason",
    "Spec",
    "create_edge_metrics",
    "error_type_for_status",
    "keep_gauges_fresh",
]

#: What Ray puts before every name it exports from `ray.util.metrics`.
RAY_PREFIX = "ray_"
#: The replica tag, spelled as vLLM's Ray stat logger spells it on the engine series.
REPLICA_TAG = "ReplicaId"
#: Ray's config of the interval at which processes report metrics to the agent (ms).
REPORT_INTERVAL_ENV = "RAY_metrics_report_interval_ms"

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

#: Why the edge turned a request away before the engine saw it; each has one site:
#: the admission limit (503), the body limit (413), the API-key check (401).
RejectReason = Literal["overloaded", "too_large", "unauthorized"]
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


Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Spec:
    """One edge metric: its name as declared to Ray, and what Prometheus sees."""

    name: str
    kind: Kind
    description: str
    tags: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def tag_keys(self) -> tuple[str, ...]:
        return ("model", *self.tags, REPLICA_TAG)

    @property
    def exported(self) -> str:
        """The name Ray's exporter writes (histograms add `_bucket`, `_sum`, `_count`)."""
        return RAY_PREFIX + self.name + ("_total" if self.kind == "counter" else "")


_P = "gemma_serve_"
REQUESTS = Spec(
    f"{_P}requests",
    "counter",
    "Finished API requests by HTTP status (499: client left).",
    ("status",),
)
ERRORS = Spec(
    f"{_P}request_errors", "counter", "Failed API requests by error type.", ("error_type",)
)
IN_FLIGHT = Spec(f"{_P}requests_in_flight", "gauge", "API requests being served now.")
REJECTED = Spec(
    f"{_P}requests_rejected",
    "counter",
    "Requests the edge refused before the engine saw them.",
    ("reason",),
)
TTFT = Spec(
    f"{_P}time_to_first_token_seconds",
    "histogram",
    "Time from request arrival to the first response bytes (first SSE event).",
    buckets=TTFT_BUCKETS,
)
ITL = Spec(
    f"{_P}inter_token_latency_seconds",
    "histogram",
    "Gap between consecutive SSE events of a streamed response.",
    buckets=ITL_BUCKETS,
)
E2E = Spec(
    f"{_P}e2e_request_latency_seconds",
    "histogram",
    "Time from request arrival to the last response byte, successful requests.",
    buckets=E2E_BUCKETS,
)
PROMPT_TOKENS = Spec(f"{_P}prompt_tokens", "counter", "Prompt tokens of finished requests.")
GENERATION_TOKENS = Spec(
    f"{_P}generation_tokens", "counter", "Generated tokens of finished requests."
)
IMAGES = Spec(f"{_P}images", "counter", "Images accepted in requests.")
MAX_ONGOING = Spec(
    f"{_P}max_ongoing_requests",
    "gauge",
    "The replica's limit on concurrent requests (the admission limit).",
)
ADAPTER_LOADS = Spec(
    f"{_P}lora_adapter_loads",
    "counter",
    "Dynamic LoRA adapters loaded (first use of a name, or the admin endpoint).",
)
ADAPTER_EVICTIONS = Spec(
    f"{_P}lora_adapter_evictions",
    "counter",
    "Dynamic LoRA adapters evicted by the replica's LRU (lora.max_cpu_loras).",
)
ADAPTERS_LOADED = Spec(
    f"{_P}lora_adapters_loaded", "gauge", "Dynamic LoRA adapters loaded on the replica."
)
KEY_REQUESTS = Spec(
    f"{_P}key_requests",
    "counter",
    "Model requests per API key name (never the key), admitted or limited (429).",
    ("key", "outcome"),
)
KEY_TOKENS = Spec(
    f"{_P}key_tokens_charged",
    "counter",
    "Tokens charged to an API key's budget on admission (prompt estimate + max output).",
    ("key",),
)
SPECS = (REQUESTS, ERRORS, IN_FLIGHT, REJECTED, TTFT, ITL, E2E, PROMPT_TOKENS,
         GENERATION_TOKENS, IMAGES, MAX_ONGOING, ADAPTER_LOADS, ADAPTER_EVICTIONS,
         ADAPTERS_LOADED, KEY_REQUESTS, KEY_TOKENS)  # fmt: skip


class MetricsBackend(Protocol):
    """The three constructors of `ray.util.metrics` (tests may pass a recorder)."""

    def Counter(self, name: str, description: str = "", tag_keys: Any = None) -> Any: ...
    def Gauge(self, name: str, description: str = "", tag_keys: Any = None) -> Any: ...
    def Histogram(
        self, name: str, description: str = "", boundaries: Any = None, tag_keys: Any = None
    ) -> Any: ...


class ModelEdgeMetrics:
    """The instruments of one served model, with its tags bound once for the hot path."""

    def __init__(self, metrics: EdgeMetrics, model: str) -> None:
        self.model = model
        made = metrics.instruments
        tags = {"model": model, REPLICA_TAG: metrics.replica}
        self._tags = tags
        self._in_flight = 0
        self._max_ongoing_value: int | None = None
        self._set_in_flight = partial(made[IN_FLIGHT.name].set, tags=tags)
        self._set_in_flight(0)
        self.observe_ttft = partial(made[TTFT.name].observe, tags=tags)
        self.observe_itl = partial(made[ITL.name].observe, tags=tags)
        self.observe_e2e = partial(made[E2E.name].observe, tags=tags)
        self._prompt = partial(made[PROMPT_TOKENS.name].inc, tags=tags)
        self._generated = partial(made[GENERATION_TOKENS.name].inc, tags=tags)
        self._images = partial(made[IMAGES.name].inc, tags=tags)
        self._requests = made[REQUESTS.name].inc
        self._errors_inc = made[ERRORS.name].inc
        self._rejected_inc = made[REJECTED.name].inc
        self._max_ongoing = partial(made[MAX_ONGOING.name].set, tags=tags)
        self._adapter_loads = partial(made[ADAPTER_LOADS.name].inc, tags=tags)
        self._adapter_evictions = partial(made[ADAPTER_EVICTIONS.name].inc, tags=tags)
        self._adapters_loaded = partial(made[ADAPTERS_LOADED.name].set, tags=tags)
        self._adapters_loaded_value: int | None = None
        self._by_status: dict[str, dict[str, str]] = {}
        self._errors = {t: {**tags, "error_type": t} for t in ERROR_TYPES}
        self._rejected = {r: {**tags, "reason": r} for r in REJECT_REASONS}

    def request_started(self) -> None:
        self._in_flight += 1
        self._set_in_flight(self._in_flight)

    def request_finished(self) -> None:
        self._in_flight -= 1
        self._set_in_flight(self._in_flight)

    def count_request(self, status: str) -> None:
        """One finished request with this HTTP status ("499": the client left)."""
        tags = self._by_status.get(status)
        if tags is None:
            tags = self._by_status[status] = {**self._tags, "status": status}
        self._requests(1, tags=tags)

    def count_error(self, error_type: ErrorType) -> None:
        """One failed request; the middleware calls it, other edge code may too."""
        self._errors_inc(1, tags=self._errors[error_type])

    def count_rejected(self, reason: RejectReason) -> None:
        """One request refused before the engine saw it."""
        self._rejected_inc(1, tags=self._rejected[reason])

    def count_tokens(self, prompt: int, generated: int) -> None:
        """The usage of one finished request (Ray counters take no zero increments)."""
        if prompt > 0:
            self._prompt(prompt)
        if generated > 0:
            self._generated(generated)

    def count_images(self, count: int) -> None:
        """Images accepted in one request for this model."""
        if count > 0:
            self._images(count)

    def count_adapter_load(self) -> None:
        """One dynamic LoRA adapter loaded on this replica (first use or admin)."""
        self._adapter_loads(1)

    def count_adapter_eviction(self) -> None:
        """One dynamic LoRA adapter evicted from this replica's LRU."""
        self._adapter_evictions(1)

    def set_adapters_loaded(self, count: int) -> None:
        """Dynamic LoRA adapters this replica holds now (unset: the model has none)."""
        self._adapters_loaded_value = count
        self._adapters_loaded(count)

    def set_max_ongoing_requests(self, per_replica: int) -> None:
        """This replica's concurrency limit, the denominator of the saturation panel."""
        self._max_ongoing_value = per_replica
        self._max_ongoing(per_replica)

    def refresh_gauges(self) -> None:
        """Set the gauges again to their current values, so the agent keeps exporting them."""
        self._set_in_flight(self._in_flight)
        if self._max_ongoing_value is not None:
            self._max_ongoing(self._max_ongoing_value)
        if self._adapters_loaded_value is not None:
            self._adapters_loaded(self._adapters_loaded_value)


class EdgeMetrics:
    """All edge instruments of one process (one Serve replica). Create it once and share it."""

    def __init__(self, replica: str, backend: MetricsBackend) -> None:
        self.replica = replica
        self.instruments: dict[str, Any] = {}
        for spec in SPECS:
            if spec.kind == "histogram":
                made = backend.Histogram(spec.name, spec.description, list(spec.buckets),
                                         spec.tag_keys)  # fmt: skip
            elif spec.kind == "counter":
                made = backend.Counter(spec.name, spec.description, spec.tag_keys)
            else:
                made = backend.Gauge(spec.name, spec.description, spec.tag_keys)
            self.instruments[spec.name] = made
        self._models: dict[str, ModelEdgeMetrics] = {}

    def models(self) -> list[ModelEdgeMetrics]:
        return list(self._models.values())

    def count_key(self, model: str, name: str, outcome: str, tokens: int) -> None:
        """One request for `model` by the API key `name`, and the tokens charged to it.

        Not bound to a model's instruments: the gateway counts keys for models it
        does not serve (and must not export their in-flight gauges)."""
        tags = {"model": model, REPLICA_TAG: self.replica, "key": name}
        self.instruments[KEY_REQUESTS.name].inc(1, tags={**tags, "outcome": outcome})
        if tokens > 0:
            self.instruments[KEY_TOKENS.name].inc(tokens, tags=tags)

    def for_model(self, model: str) -> ModelEdgeMetrics:
        """The bound instruments of `model` (its in-flight gauge starts at 0)."""
        found = self._models.get(model)
        if found is None:
            found = self._models[model] = ModelEdgeMetrics(self, model)
        return found


def gauge_refresh_s() -> float:
    """Ray's report interval (10 s unless `RAY_metrics_report_interval_ms` says otherwise):
    the agent keeps a gauge for two, so one re-set per interval keeps it exported."""
    return float(os.environ.get(REPORT_INTERVAL_ENV) or 10_000) / 1000


async def keep_gauges_fresh(metrics: EdgeMetrics, period_s: float | None = None) -> None:
    """Re-set every model's gauges each `period_s` (default: the report interval), for the
    replica's life."""
    period_s = gauge_refresh_s() if period_s is None else period_s
    while True:
        for model in list(metrics.models()):
            model.refresh_gauges()
        await asyncio.sleep(period_s)


def create_edge_metrics(
    replica: str | None = None, backend: MetricsBackend | None = None
) -> EdgeMetrics:
    """The edge metrics of this replica, recorded through Ray unless `backend` is given.

    `replica` defaults to the Serve replica's id (vLLM's `ReplicaId`); outside
    a replica it is empty, as vLLM's is.
    """
    if backend is None:
        from ray.util import metrics as ray_metrics

        backend = ray_metrics
    return EdgeMetrics(_replica_id() if replica is None else replica, backend)


def _replica_id() -> str:
    """The same id vLLM's Ray stat logger tags the engine series with."""
    try:
        from ray import serve

        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # not inside a Serve replica
        return ""
