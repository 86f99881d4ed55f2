"""The deployment file's typed model: the single source of truth.

The CLI, the Ray Serve application and the Helm chart's values all load these
models; nothing else describes a deployment.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gemma_serve.catalogue import dtype_problem, quant_problem
from gemma_serve.config._kinds import AcceleratorName, Dtype, QuantMethod, Scheme
from gemma_serve.config.lora import LoraConfig
from gemma_serve.config.tools import ToolsConfig

Variant = Literal["270m", "1b", "4b", "12b", "27b"]
Flavour = Literal["pt", "it"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HardwareConfig(_Strict):
    """Where one replica of a model runs."""

    accelerator: AcceleratorName = Field(
        "cpu", description="GPU kind of each replica, or `cpu` for vLLM's CPU engine."
    )
    count: int = Field(
        1, ge=1, le=16, description="Accelerators (GPUs, or CPU cores on `cpu`) per replica."
    )
    cpu_cores: int | None = Field(
        None,
        ge=1,
        description="On `cpu`: cores one replica's engine binds (split evenly over its TP "
        "ranks); Ray reserves that many CPUs per replica, so replicas never share cores. "
        "Default: every core of the node (locally, this machine's).",
    )


class AutoscalingConfig(_Strict):
    """Ray Serve replica autoscaling; min == max means a fixed count."""

    min_replicas: int = Field(1, ge=0, description="Fewest replicas kept running.")
    max_replicas: int = Field(1, ge=1, description="Most replicas Ray Serve may start.")
    initial_replicas: int | None = Field(
        None, ge=0, description="Replicas at start-up; default min_replicas."
    )
    target_ongoing_requests: float = Field(
        8.0, gt=0, description="In-flight requests per replica the autoscaler aims for."
    )
    max_ongoing_requests: int = Field(
        64,
        ge=1,
        description="In-flight generation requests per replica (running + queued in the "
        "engine); beyond it a fast 503 with Retry-After (never Ray's unbounded default).",
    )
    retry_after_s: int = Field(
        1, ge=0, le=600, description="Retry-After seconds sent with an overload 503."
    )
    routing: Literal["prefix_aware", "power_of_two"] = Field(
        "prefix_aware",
        description="Replica choice with several replicas: by shared prompt prefix (balancing "
        "load when queues diverge), or Ray Serve's plain power-of-two choices.",
    )
    upscale_delay_s: float = Field(15.0, ge=0, description="Seconds of load before scaling up.")
    downscale_delay_s: float = Field(
        300.0, ge=0, description="Seconds of slack before scaling down."
    )

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas={self.min_replicas} exceeds max_replicas={self.max_replicas}"
            )
        if self.initial_replicas is not None and not (
            self.min_replicas <= self.initial_replicas <= self.max_replicas
        ):
            raise ValueError(
                f"initial_replicas={self.initial_replicas} is outside "
                f"[{self.min_replicas}, {self.max_replicas}]"
            )
        return self


class QuantizationConfig(_Strict):
    """A quantized checkpoint: how vLLM loads it, and what the planner sizes.

    Only `method` reaches vLLM (`--quantization`); vLLM reads the rest from the
    checkpoint's config.json and refuses a method that does not match it. The
    scheme and group size describe the checkpoint to the planner (weight bytes,
    GPU and CPU rules); they must say what the checkpoint holds.
    """

    method: QuantMethod = Field(
        ...,
        description="vLLM's `--quantization` value, passed as is: `compressed-tensors` "
        "(llm-compressor checkpoints: FP8, INT8 W8A8, W4A16 ...), `fp8` (checkpoints whose "
        "config.json says quant_method fp8), `awq`, `gptq`.",
    )
    scheme: Scheme | None = Field(
        None,
        description="The checkpoint's weight format, in llm-compressor's preset names: "
        "FP8_DYNAMIC, FP8 (static), FP8_BLOCK, W8A8 (INT8 weights and activations), "
        "W8A16, W4A16 (INT4 weight-only), W4A16_ASYM (with zero points, AWQ's layout). "
        "Not passed to vLLM. Default: fp8 -> FP8_DYNAMIC, awq -> W4A16_ASYM, gptq -> W4A16; "
        "compressed-tensors needs it.",
    )
    group_size: int = Field(
        128,
        ge=-1,
        description="Weights per scale group of the group-quantized schemes (W4A16, "
        "W4A16_ASYM, W8A16), as in the checkpoint's config.json; -1: one scale per output "
        "channel. Not passed to vLLM.",
    )

    @model_validator(mode="after")
    def _loadable(self) -> QuantizationConfig:
        problem = quant_problem(self.method, self.scheme)
        if problem:
            raise ValueError(problem)
        if self.group_size == 0:
            raise ValueError("quantization.group_size must be positive or -1 (per channel)")
        return self


class EngineConfig(_Strict):
    """vLLM engine knobs; unset ones take vLLM's (or the planner's) defaults."""

    gpu_memory_utilization: float = Field(
        0.90, gt=0, le=0.98, description="Fraction of GPU memory vLLM may use (GPU only)."
    )
    cpu_kv_cache_gib: int = Field(
        1, ge=1, le=256, description="KV-cache size in whole GiB on the CPU engine."
    )
    max_num_seqs: int | None = Field(
        None, ge=1, le=4096, description="Most sequences batched at once by the engine."
    )
    max_num_batched_tokens: int | None = Field(
        None, ge=16, description="Most tokens scheduled in one engine step."
    )
    enable_prefix_caching: bool = Field(True, description="Reuse KV blocks of shared prefixes.")
    enable_chunked_prefill: bool = Field(True, description="Split long prefills across steps.")
    kv_cache_dtype: Literal["auto", "fp8", "fp8_e4m3", "fp8_e5m2"] = Field(
        "auto",
        description="KV-cache element type; `auto` follows the model dtype. The fp8 types "
        "store one byte per element (twice the tokens); on the CPU engine vLLM needs "
        "AVX-512 or AMX for them.",
    )
    quantization: QuantizationConfig | None = Field(
        None,
        description="The checkpoint's weight quantization, if any (`{method, scheme, "
        "group_size}`); None: bf16 weights.",
    )
    enforce_eager: bool | None = Field(
        None,
        description="Skip torch.compile and CUDA graphs: a faster first start, slower steps. "
        "Default: the planner's choice per accelerator (compiled on GPUs).",
    )
    seed: int = Field(0, description="Engine random seed.")
    scheduling_policy: Literal["priority", "fcfs"] = Field(
        "priority",
        description="vLLM's scheduling policy. `priority`: waiting requests run by their API "
        "key's priority (lower first), then in arrival order (equal priorities: first come, "
        "first served); `fcfs`: arrival order only, key priorities ignored.",
    )
    compact_json: bool = Field(
        True,
        description="Constrained JSON (response_format json_schema, `required` and named "
        "tool calls) without free whitespace (vLLM's xgrammar backend, "
        "`disable_any_whitespace`): a small model may otherwise fill max_tokens with "
        "whitespace inside the constrained call. False: vLLM's `auto` backend choice.",
    )


class MultimodalConfig(_Strict):
    """Image input limits (Gemma 3 4B and larger)."""

    max_images_per_prompt: int | None = Field(
        None,
        ge=0,
        le=32,
        description="Images allowed in one request; 0 disables images (vLLM then skips the "
        "vision tower). Default: 1 on 4B and larger, 0 on the text-only 270M and 1B.",
    )
    do_pan_and_scan: bool = Field(
        False, description="Crop large or non-square images into up to 4 extra 896px tiles."
    )
    max_image_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest encoded image accepted, in bytes."
    )
    max_image_pixels: int = Field(
        40_000_000, ge=64, description="Largest decoded image accepted, width x height."
    )
    allowed_media_domains: list[str] = Field(
        default_factory=list,
        description="Hosts from which http(s) image URLs may be fetched; empty = none.",
    )
    fetch_timeout_s: float = Field(5.0, gt=0, le=60, description="Time limit of one fetch.")


class ModelConfig(_Strict):
    """One served Gemma 3 model."""

    name: str = Field(
        ...,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
        description="Name clients put in the request's `model` field.",
    )
    variant: Variant = Field(..., description="Gemma 3 size.")
    flavour: Flavour = Field(
        "it",
        description="`it` instruction-tuned (chat) or `pt` pretrained (text continuation): "
        "chat answers on a `pt` model carry a warning header and a startup warning is logged.",
    )
    source: str = Field(
        ...,
        min_length=1,
        description="Checkpoint: `embedded:gemma-3-270m`, a local directory, or a hub id.",
    )
    tokenizer: str | None = Field(None, description="Tokenizer location if not the checkpoint's.")
    max_model_len: int = Field(
        4096, ge=128, description="Context length (prompt + output) in tokens."
    )
    max_output_tokens: int = Field(
        8192, ge=1, le=8192, description="Ceiling of one request's `max_tokens`."
    )
    dtype: Dtype = Field("bfloat16", description="Weight and activation dtype (never float16).")
    hardware: HardwareConfig = Field(
        default_factory=HardwareConfig, description="Accelerators of one replica."
    )
    tensor_parallel_size: int | Literal["auto"] = Field(
        "auto", description="Tensor-parallel ranks per replica, or `auto` (planner picks)."
    )
    autoscaling: AutoscalingConfig = Field(
        default_factory=AutoscalingConfig, description="Replica count and autoscaling."
    )
    engine: EngineConfig = Field(default_factory=EngineConfig, description="vLLM knobs.")
    multimodal: MultimodalConfig = Field(
        default_factory=MultimodalConfig, description="Image limits."
    )
    chat_template: str | None = Field(
        None,
        description="Jinja chat template: a path on every node, or `builtin:<file>` (shipped "
        "in gemma_serve/models/templates). Default: with tools on, the tools' template "
        "(`tools.chat_template`); with tools off, the checkpoint's own.",
    )
    lora: LoraConfig | None = Field(
        None, description="LoRA adapters served on this model (off when unset)."
    )
    tools: ToolsConfig = Field(
        default_factory=ToolsConfig,
        description="Tool calling (`tools`, `tool_choice`): on by default, with vLLM's "
        "pythonic parser and its Gemma 3 tool chat template.",
    )

    @field_validator("dtype", mode="before")
    @classmethod
    def _gemma_dtype(cls, value: object) -> object:
        problem = dtype_problem(value) if isinstance(value, str) else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _tp_positive(self) -> ModelConfig:
        tp = self.tensor_parallel_size
        if isinstance(tp, int) and tp < 1:
            raise ValueError(f"tensor_parallel_size={tp} must be >= 1 or 'auto'")
        return self

    @model_validator(mode="after")
    def _one_template(self) -> ModelConfig:
        given = self.tools.chat_template
        if self.tools.enabled and given and self.chat_template and given != self.chat_template:
            raise ValueError(
                f"chat_template={self.chat_template!r} and tools.chat_template={given!r}: "
                "a model renders with one template; set one of them"
            )
        return self


class ServerConfig(_Strict):
    """The HTTP edge."""

    host: str = Field("127.0.0.1", description="Address to bind; 127.0.0.1 keeps it local.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the OpenAI-compatible API.")
    metrics_port: int = Field(
        8080,
        ge=1,
        le=65535,
        description="Prometheus scrape target of the local `gemma-serve serve` (`/metrics`): "
        "the Ray node's metrics agent, exporting every replica's vLLM and gemma-serve series "
        "(label `ReplicaId`); bound like `host` (loopback stays loopback). On a Ray cluster, "
        "each node's `ray start --metrics-export-port` is the target instead.",
    )
    api_keys_env: str = Field(
        "GEMMA_SERVE_API_KEYS",
        description="Environment variable holding comma-separated API keys; unset = no auth.",
    )
    api_keys_file: str | None = Field(
        None,
        description="File of API keys (e.g. a mounted Kubernetes Secret): one bare key per "
        "line, or a YAML list of {name, key, requests_per_minute, tokens_per_minute, "
        "max_concurrency, priority} (README: Keys, quotas and priorities).",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    log_requests: bool = Field(
        False,
        description="Log each request's id, sampling parameters and completion (vLLM logs "
        "prompts only at DEBUG level); off: no request content reaches the logs.",
    )
    drain_timeout_s: float = Field(
        30.0, ge=0, le=600, description="On SIGTERM, seconds in-flight requests may finish."
    )
    haproxy_metrics_port: int = Field(
        9101,
        ge=1,
        le=65535,
        description="Port of HAProxy's own Prometheus exporter (connections, backends) when "
        "`gemma-serve serve` starts Ray; bound to `host` like the API (Ray's default port; "
        "HAProxy's stats page is off). On a cluster: Ray's RAY_SERVE_HAPROXY_METRICS_PORT.",
    )

    @model_validator(mode="after")
    def _distinct_ports(self) -> ServerConfig:
        if self.haproxy_metrics_port == self.port:
            raise ValueError(
                f"haproxy_metrics_port={self.haproxy_metrics_port} is the API port; pick another"
            )
        return self


class ClusterConfig(_Strict):
    """The local Ray cluster `gemma-serve serve` starts (ignored on an existing cluster)."""

    address: str | None = Field(
        None, description="Existing Ray cluster to join (`auto`, `ray://...`); default: start one."
    )
    num_cpus: int | None = Field(
        None,
        ge=1,
        description="Logical CPUs Ray advertises; default what the plan needs (Ray sees 2 here).",
    )


class DeploymentConfig(_Strict):
    """A whole deployment file."""

    models: Annotated[list[ModelConfig], Field(min_length=1)] = Field(
        ..., description="Served models; each becomes its own Ray Serve deployment."
    )
    server: ServerConfig = Field(default_factory=ServerConfig, description="HTTP edge.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="Ray cluster.")

    @model_validator(mode="after")
    def _unique_names(self) -> DeploymentConfig:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"models[].name must be unique; repeated: {', '.join(dupes)}")
        # A request's `model` names a model or an adapter: one meaning per name.
        adapters = [a.name for m in self.models if m.lora for a in m.lora.adapters]
        clash = sorted({n for n in adapters if n in names or adapters.count(n) > 1})
        if clash:
            raise ValueError(
                "lora.adapters[].name must differ from every model name and from the other "
                f"models' adapters; repeated: {', '.join(clash)}"
            )
        return self

    def model(self, name: str) -> ModelConfig:
        """The model called `name`; KeyError names the ones that exist."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"no model {name!r}; configured: {', '.join(m.name for m in self.models)}")
