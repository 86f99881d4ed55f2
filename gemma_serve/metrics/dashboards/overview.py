"""Overview: traffic, errors, latency percentiles and tokens/s per model, seen at the edge."""

from __future__ import annotations

from gemma_serve.metrics import vllm_names as v
from gemma_serve.metrics.dashboards._build import EDGE, RATE, VLLM, Board, quantiles, rate
from gemma_serve.metrics.edge import SERVER_ERROR_TYPES

_SERVER_ERRORS = "|".join(SERVER_ERROR_TYPES)
_REQUESTS = "gemma_serve_requests_total"
_ERROR_RATIO = (
    "sum by (model) (rate(gemma_serve_request_errors_total"
    f'{{{EDGE}, error_type=~"{_SERVER_ERRORS}"}}[{RATE}])) '
    f"/ sum by (model) (rate({_REQUESTS}{{{EDGE}}}[{RATE}]))"
)


def build() -> Board:
    b = Board(
        uid="gemma-serve-overview",
        title="gemma-serve / Overview",
        description="Traffic, errors, latency and tokens per model at the gemma-serve API edge.",
        model_query="label_values(gemma_serve_requests_total, model)",
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
            f"gemma_serve_time_to_first_token_seconds_bucket{{{EDGE}}}[{RATE}])))",
            "p95",
        ),
        unit="s",
    )
    b.stat(
        "Generated tokens/s",
        "Output tokens per second, all selected models.",
        (f"sum(rate(gemma_serve_generation_tokens_total{{{EDGE}}}[{RATE}]))", "tokens/s"),
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
        [("sum by (model) (gemma_serve_requests_in_flight{" + EDGE + "})", "{{model}}")],
        unit="short",
    )
    b.timeseries(
        "Images/s",
        "Images received per second.",
        [(rate("gemma_serve_images_total", EDGE, "model"), "{{model}}")],
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
                rate("gemma_serve_request_errors_total", EDGE, "model, error_type"),
                "{{model}} {{error_type}}",
            )
        ],
        unit="reqps",
    )

    b.row("Latency (edge)")
    b.timeseries(
        "Time to first token",
        "From request arrival to the first streamed event.",
        quantiles("gemma_serve_time_to_first_token_seconds", EDGE, "model", "{{model}}"),
        unit="s",
    )
    b.timeseries(
        "Inter-token latency",
        "Gap between consecutive streamed events.",
        quantiles("gemma_serve_inter_token_latency_seconds", EDGE, "model", "{{model}}"),
        unit="s",
    )
    b.timeseries(
        "End-to-end latency",
        "From request arrival to the last byte, successes only.",
        quantiles("gemma_serve_e2e_request_latency_seconds", EDGE, "model", "{{model}}"),
        unit="s",
    )
    b.timeseries(
        "TTFT within 2 s",
        "Share of requests meeting the TTFT SLO threshold (2 s).",
        [
            (
                "sum by (model) (rate(gemma_serve_time_to_first_token_seconds_bucket"
                f'{{{EDGE}, le=~"2|2.0"}}[{RATE}])) / sum by (model) (rate('
                f"gemma_serve_time_to_first_token_seconds_count{{{EDGE}}}[{RATE}]))",
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
            (rate("gemma_serve_prompt_tokens_total", EDGE, "model"), "prompt {{model}}"),
            (rate("gemma_serve_generation_tokens_total", EDGE, "model"), "generated {{model}}"),
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
