"""Benchmark results: the JSON every report, plot and comparison is derived from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from gemma_serve.bench._model import Strict
from gemma_serve.bench.loads import LoadSpec
from gemma_serve.bench.spec import BenchSpec, Target


class RequestRecord(Strict):
    """What the client saw of one request; times in seconds."""

    index: int = Field(description="Position of the request in the dataset.")
    start_s: float = Field(description="Send time, relative to the step's start.")
    ttft_s: float | None = Field(default=None, description="Time to the first token chunk.")
    itl_s: list[float] = Field(default_factory=list, description="Gaps between token chunks.")
    latency_s: float | None = Field(
        default=None, description="Time to the last token chunk (E2EL)."
    )
    prompt_tokens: int | None = Field(default=None, description="usage.prompt_tokens.")
    output_tokens: int = Field(
        default=0, description="usage.completion_tokens (or chunks if absent)."
    )
    status: int | None = Field(default=None, description="HTTP status; None if none was received.")
    error_kind: str | None = Field(
        default=None,
        description="None on success; else http, timeout, transport, stream or no_tokens.",
    )
    error: str | None = Field(default=None, description="Error message, truncated.")

    @property
    def ok(self) -> bool:
        """Whether the request produced at least one token and no error."""
        return self.error_kind is None and self.ttft_s is not None and self.latency_s is not None


class Distribution(Strict):
    """Summary of one latency metric in milliseconds (numpy's definitions)."""

    count: int = Field(description="Samples.")
    mean: float = Field(description="Arithmetic mean.")
    median: float = Field(description="50th percentile.")
    std: float = Field(description="Population standard deviation (numpy.std).")
    p90: float = Field(description="90th percentile (linear interpolation).")
    p99: float = Field(description="99th percentile (linear interpolation).")
    min: float = Field(description="Smallest sample.")
    max: float = Field(description="Largest sample.")


class RunMetrics(Strict):
    """One step's metrics, as `vllm bench serve` defines them."""

    completed: int = Field(description="Successful requests.")
    failed: int = Field(description="Failed requests.")
    duration_s: float = Field(description="From the first send to the last completion.")
    total_input_tokens: int = Field(description="Sum of prompt tokens of successes.")
    total_output_tokens: int = Field(description="Sum of output tokens of successes.")
    request_throughput: float = Field(description="Completed requests per second.")
    request_goodput: float | None = Field(
        default=None, description="Completed requests meeting every SLO, per second."
    )
    output_throughput: float = Field(description="Output tokens per second.")
    total_token_throughput: float = Field(description="Input + output tokens per second.")
    ttft_ms: Distribution | None = Field(default=None, description="Time to first token.")
    tpot_ms: Distribution | None = Field(
        default=None, description="(E2EL - TTFT) / (output tokens - 1), requests with > 1 token."
    )
    itl_ms: Distribution | None = Field(default=None, description="Every gap between token chunks.")
    e2el_ms: Distribution | None = Field(default=None, description="End-to-end latency.")
    errors: dict[str, int] = Field(
        default_factory=dict, description="Failed requests by HTTP status or error kind."
    )


class RunResult(Strict):
    """One load step against one target."""

    load: LoadSpec = Field(description="The step's load shape.")
    label: str = Field(description="Short name of the load.")
    x_value: float = Field(description="Concurrency or offered rate, for plots.")
    seed: int = Field(description="Dataset seed of this step.")
    metrics: RunMetrics = Field(description="Aggregated metrics.")
    records: list[RequestRecord] = Field(default_factory=list, description="Per request.")


class BenchResult(Strict):
    """A sweep against one target."""

    kind: Literal["bench"] = Field(default="bench", description="Result tag.")
    created_at: str = Field(description="UTC start time, ISO 8601.")
    target: Target = Field(description="The endpoint under test.")
    spec: BenchSpec = Field(description="What was run.")
    runs: list[RunResult] = Field(description="One per load step.")


class RoundResult(Strict):
    """One target's turn in one side-by-side round."""

    round: int = Field(description="Round number, from 0.")
    target: str = Field(description="Target name.")
    runs: list[RunResult] = Field(description="One per load step.")


class Spread(Strict):
    """Smallest, median and largest of one value over the rounds of a comparison."""

    min: float = Field(description="Smallest over rounds.")
    median: float = Field(description="Median over rounds.")
    max: float = Field(description="Largest over rounds.")
    n: int = Field(description="Rounds that gave a value.")


class ComparisonRow(Strict):
    """Medians over rounds for one target and load step, and ratios to the baseline.

    Each `*_ratio` divides the medians; each `*_ratio_rounds` is the spread of
    the same ratio taken round by round (both targets' runs of one round), which
    shows how far one run can be trusted.
    """

    label: str = Field(description="Load step.")
    target: str = Field(description="Target name.")
    rounds: int = Field(description="Rounds that produced this step.")
    output_throughput: float | None = Field(description="Median output tokens/s.")
    ttft_p50_ms: float | None = Field(description="Median over rounds of TTFT p50.")
    ttft_p99_ms: float | None = Field(description="Median over rounds of TTFT p99.")
    itl_p50_ms: float | None = Field(description="Median over rounds of ITL p50.")
    throughput_ratio: float | None = Field(
        default=None, description="output_throughput / baseline's."
    )
    ttft_p50_ratio: float | None = Field(default=None, description="ttft_p50_ms / baseline's.")
    ttft_p99_ratio: float | None = Field(default=None, description="ttft_p99_ms / baseline's.")
    itl_p50_ratio: float | None = Field(default=None, description="itl_p50_ms / baseline's.")
    throughput_ratio_rounds: Spread | None = Field(
        default=None, description="output_throughput / baseline's, per round."
    )
    ttft_p50_ratio_rounds: Spread | None = Field(
        default=None, description="TTFT p50 / baseline's, per round."
    )
    ttft_p99_ratio_rounds: Spread | None = Field(
        default=None, description="TTFT p99 / baseline's, per round."
    )
    itl_p50_ratio_rounds: Spread | None = Field(
        default=None, description="ITL p50 / baseline's, per round."
    )


class SideBySideResult(Strict):
    """The same load against several targets in alternating rounds."""

    kind: Literal["side_by_side"] = Field(default="side_by_side", description="Result tag.")
    created_at: str = Field(description="UTC start time, ISO 8601.")
    spec: BenchSpec = Field(description="What was run against every target.")
    targets: list[Target] = Field(description="In round order.")
    baseline: str = Field(description="The target every ratio divides by.")
    order: Literal["repeat", "mirror"] = Field(
        default="repeat",
        description="Target order per round: the same every round (A B, A B) or reversed "
        "every other round (A B, B A).",
    )
    rounds: list[RoundResult] = Field(description="In run order.")
    summary: list[ComparisonRow] = Field(description="Medians and ratios.")


class ParityResult(Strict):
    """Our client against vLLM's benchmark client, same endpoint and load."""

    kind: Literal["parity"] = Field(default="parity", description="Result tag.")
    created_at: str = Field(description="UTC start time, ISO 8601.")
    target: Target = Field(description="The endpoint both clients drove.")
    spec: BenchSpec = Field(description="Dataset and load (one step).")
    ours: list[RunMetrics] = Field(description="Our client, one per round.")
    vllm: list[RunMetrics] = Field(description="vLLM's client, one per round.")
    ttft_p50_ratio: float = Field(description="TTFT p50, ours / vLLM's (median over rounds).")
    ttft_mean_ratio: float = Field(description="TTFT mean, ours / vLLM's (median over rounds).")
    output_throughput_ratio: float = Field(
        description="Output tok/s, ours / vLLM's (median over rounds)."
    )
    tolerance: float = Field(description="Allowed relative difference.")
    within_tolerance: bool = Field(description="Whether every ratio is within it.")


AnyResult = Annotated[BenchResult | SideBySideResult | ParityResult, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[BenchResult | SideBySideResult | ParityResult] = TypeAdapter(AnyResult)


def save_result(result: BenchResult | SideBySideResult | ParityResult, path: Path) -> Path:
    """Write the result as indented JSON (the source of every other format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return path


def load_result(path: Path) -> BenchResult | SideBySideResult | ParityResult:
    """Read any result JSON written by `save_result`."""
    return _ADAPTER.validate_json(path.read_bytes())
