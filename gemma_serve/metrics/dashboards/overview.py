"""Overview: traffic, errors, latency percentiles and tokens/s per model, seen at the edge."""

from __future__ import annotations

from gemma_serve.metrics import edge as e
from gemma_serve.metrics import names as v
from gemma_serve.metrics.dashboards._build import EDGE, RATE, VLLM, Board, quantiles, rate
from gemma_serve.metrics.edge import SERVER_ERROR_TYPES

_SERVER_ERRORS = "|".join(SERVER_ERROR_TYPES)
_REQUESTS = e.REQUESTS.exported
_PER_MODEL_REQUESTS = f"sum by (model) (rate({_REQUESTS}{{{EDGE}}}[{RATE}]))"
#: Server errors over requests; a model without server errors reads 0, not "No data".
_ERROR_RATIO = (
    f"(sum by (model) (rate({e.ERRORS.exported}"
    f'{{{EDGE}, error_type=~"{_SERVER_ERRORS}"}}[{RATE}])) or 0 * {_PER_MODEL_REQUESTS}) '
    f"/ {_PER_MODEL_REQUESTS}"
)


def build() -> Board:
    b = Board(
        uid="gemma-serve-overview",
        title="gemma-serve / Overview",
        description="Traffic, errors, latency and tokens per model at the gemma-serve API edge, "
        "summed over every replica.",
        model_query=f"label_values({_REQUESTS}, model)",
    )
    b.stat(
        "Requests/s",
        "Finished requests per second.",
        (f"sum(rate({_REQUESTS}{{{EDGE}}}[{RATE}]))", "requests/s"),
        unit="reqps",
    )
    b.stat(
        "Server error ratio",
        "Share of requests failing through the server's fault.",
        (f"max({_ERROR_RATIO})", "error ratio"),
        unit="percentunit",
    )
    b.stat(
        "TTFT p95",
        "95th percentile time to first token, all selected models.",
        (
            "histogram_quantile(0.95, sum by (le) (rate("
            f"{e.TTFT.exported}_bucket{{{EDGE}}}[{RATE}])))",
            "p95",
        ),
        unit="s",
    )
    b.stat(
        "Generated tokens/s",
        "Output tokens per second, all selected models.",
        (f"sum(rate({e.GENERATION_TOKENS.exported}{{{EDGE}}}[{RATE}]))", "tokens/s"),
        unit="short",
    )

    b.row("Traffic")
    b.timeseries(
        "Requests/s by model",
        "Finished requests per second.",
        [(rate(_REQUESTS, EDGE, "model"), "{{model}}")],
        unit="reqps",
    )
    b.timeseries(
        "Requests/s by status",
        "HTTP status of finished requests; 499 = client left.",
        [(rate(_REQUESTS, EDGE, "model, status"), "{{model}} {{status}}")],
        unit="reqps",
    )
    b.timeseries(
        "In flight",
        "Requests being served now.",
        [(f"sum by (model) ({e.IN_FLIGHT.exported}{{{EDGE}}})", "{{model}}")],
        unit="short",
    )
    b.timeseries(
        "Images/s",
        "Images received per second.",
        [(rate(e.IMAGES.exported, EDGE, "model"), "{{model}}")],
        unit="short",
    )

    b.row("Errors")
    b.timeseries(
        "Server error ratio",
        f"Errors of type {_SERVER_ERRORS} over all requests.",
        [(_ERROR_RATIO, "{{model}}")],
        unit="percentunit",
    )
    b.timeseries(
        "Errors/s by type",
        "Failed requests per second, by error type.",
        [
            (
                rate(e.ERRORS.exported, EDGE, "model, error_type"),
                "{{model}} {{error_type}}",
            )
        ],
        unit="reqps",
    )

    b.row("Latency (edge)")
    b.timeseries(
        "Time to first token",
        "From request arrival to the first streamed event.",
        quantiles(e.TTFT.exported, EDGE, "model", "{{model}}"),
        unit="s",
    )
    b.timeseries(
        "Inter-token latency",
        "Gap between consecutive streamed events.",
        quantiles(e.ITL.exported, EDGE, "model", "{{model}}"),
        unit="s",
    )
    b.timeseries(
        "End-to-end latency",
        "From request arrival to the last byte, successes only.",
        quantiles(e.E2E.exported, EDGE, "model", "{{model}}"),
        unit="s",
    )
    b.timeseries(
        "TTFT within 2 s",
        "Share of requests meeting the TTFT SLO threshold (2 s).",
        [
            (
                f"sum by (model) (rate({e.TTFT.exported}_bucket"
                f'{{{EDGE}, le=~"2|2.0"}}[{RATE}])) / sum by (model) (rate('
                f"{e.TTFT.exported}_count{{{EDGE}}}[{RATE}]))",
                "{{model}}",
            )
        ],
        unit="percentunit",
        max_value=1,
    )

    b.row("Tokens")
    b.timeseries(
        "Tokens/s (edge)",
        "Prompt and generated tokens of finished requests.",
        [
            (rate(e.PROMPT_TOKENS.exported, EDGE, "model"), "prompt {{model}}"),
            (rate(e.GENERATION_TOKENS.exported, EDGE, "model"), "generated {{model}}"),
        ],
        unit="short",
    )
    b.timeseries(
        "Tokens/s (engine)",
        "The same from vLLM's counters, to cross-check the edge.",
        [
            (rate(v.PROMPT_TOKENS, VLLM, "model_name"), "prompt {{model_name}}"),
            (rate(v.GENERATION_TOKENS, VLLM, "model_name"), "generated {{model_name}}"),
        ],
        unit="short",
    )
    return b
