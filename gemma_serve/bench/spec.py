"""What to run: the endpoint under test and the benchmark spec, validated once."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from gemma_serve.bench._model import Strict
from gemma_serve.bench.datasets import DatasetSpec, SyntheticText
from gemma_serve.bench.loads import ConcurrentLoad, LoadSpec

Api = Literal["completions", "chat"]


def _one_user() -> list[LoadSpec]:
    return [ConcurrentLoad(concurrency=1)]


class Target(Strict):
    """One OpenAI-compatible endpoint."""

    name: str = Field(default="target", min_length=1, description="Name used in reports.")
    base_url: str = Field(
        description="Server root, e.g. http://127.0.0.1:8000 (a /v1 suffix is dropped)."
    )
    model: str = Field(min_length=1, description="The `model` field of every request.")

    @field_validator("base_url")
    @classmethod
    def _normalise(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {v!r}")
        v = v.rstrip("/")
        return v.removesuffix("/v1")


class Slo(Strict):
    """Service-level objectives for goodput, in milliseconds (`vllm bench serve --goodput`)."""

    ttft_ms: float | None = Field(default=None, gt=0, description="Time to first token bound.")
    tpot_ms: float | None = Field(default=None, gt=0, description="Time per output token bound.")
    e2el_ms: float | None = Field(default=None, gt=0, description="End-to-end latency bound.")

    @property
    def active(self) -> bool:
        """Whether any bound is set (goodput is reported only then)."""
        return any(v is not None for v in (self.ttft_ms, self.tpot_ms, self.e2el_ms))


class BenchSpec(Strict):
    """A dataset, a sweep of load steps, and how each request is sent."""

    api: Api | None = Field(
        default=None,
        description="Endpoint: completions or chat; default chat for chat-only datasets.",
    )
    dataset: DatasetSpec = Field(
        default_factory=SyntheticText, description="Where the requests come from."
    )
    loads: list[LoadSpec] = Field(
        default_factory=_one_user,
        min_length=1,
        description="Load steps, run one after another.",
    )
    num_requests: int = Field(
        default=100,
        ge=1,
        description="Requests per load step (count bound), unless a step sets its own.",
    )
    max_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Stop sending new requests after this many seconds per step.",
    )
    warmup_requests: int = Field(
        default=2, ge=0, description="Requests sent (and discarded) before the first step."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the dataset and of random schedules.")
    fresh_prompts: bool = Field(
        default=True,
        description="Give each step its own prompts, so a prefix cache cannot replay an "
        "earlier step.",
    )
    ignore_eos: bool = Field(
        default=True, description="Send vLLM's `ignore_eos` so output lengths are exact."
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra JSON fields merged into every request body."
    )
    request_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="A request still running after this long fails as `timeout`.",
    )
    slo: Slo = Field(default_factory=Slo, description="Goodput objectives.")

    @model_validator(mode="after")
    def _api_fits_dataset(self) -> BenchSpec:
        if self.api == "completions" and self.dataset.chat_only:
            raise ValueError(f"dataset {self.dataset.kind!r} needs api 'chat'")
        return self

    @property
    def resolved_api(self) -> Api:
        """The endpoint actually used."""
        if self.api is not None:
            return self.api
        return "chat" if self.dataset.chat_only else "completions"

    def step_requests(self, step: int) -> int:
        """Requests of one load step: its own count if it sets one, else `num_requests`."""
        return self.loads[step].num_requests or self.num_requests

    def step_seed(self, step: int, round_: int = 0) -> int:
        """Dataset seed of one step (and side-by-side round)."""
        if not self.fresh_prompts:
            return self.seed
        return self.seed + 1000 * round_ + step + 1
