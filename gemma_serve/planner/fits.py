"""Which GPU each Gemma 3 variant fits in each weight format: the planner, run over the catalogue.

`gemma-serve plan --fits` prints it and the README carries it (written by
`make regen` between `<!-- quant-table:begin -->` markers), so the published
table is always what the planner decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gemma_serve import catalogue
from gemma_serve.catalogue._quant import FP8_KV_CPU_NEEDS
from gemma_serve.config.models import ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner.plan import HostFacts, plan_model

#: Formats of the table: label -> engine settings (quantization and KV dtype).
FORMATS: dict[str, dict[str, Any]] = {
    "bf16": {},
    "bf16 + FP8 KV": {"kv_cache_dtype": "fp8"},
    "FP8 (`fp8`, FP8_DYNAMIC)": {"quantization": {"method": "fp8"}},
    "INT8 W8A8": {"quantization": {"method": "compressed-tensors", "scheme": "W8A8"}},
    "W4A16 (compressed-tensors, GPTQ)": {
        "quantization": {"method": "compressed-tensors", "scheme": "W4A16"}
    },
    "AWQ (W4A16_ASYM)": {"quantization": {"method": "awq"}},
    "W4A16 + FP8 KV": {
        "quantization": {"method": "compressed-tensors", "scheme": "W4A16"},
        "kv_cache_dtype": "fp8",
    },
}
#: GPUs per replica the table may use (the planner picks the smallest TP that fits).
MAX_GPUS = 8
#: The table's context length: long enough to matter, short enough for every variant.
TABLE_MAX_MODEL_LEN = 8192


@dataclass(frozen=True)
class Cell:
    """One variant x format x GPU kind: the TP that fits (None: nothing up to MAX_GPUS)."""

    tensor_parallel_size: int | None
    kv_tokens: int
    fallback: bool

    def markdown(self) -> str:
        if self.tensor_parallel_size is None:
            return "-"
        mark = "*" if self.fallback else ""
        return f"{self.tensor_parallel_size}x, {self.kv_tokens / 1000:,.0f}K{mark}"


def _model(variant: str, gpu: str, engine: dict[str, Any], max_model_len: int) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "name": f"gemma-3-{variant}",
            "variant": variant,
            "source": f"google/gemma-3-{variant}-it",
            "max_model_len": max_model_len,
            "hardware": {"accelerator": gpu, "count": MAX_GPUS},
            "engine": engine,
        }
    )


def cell(variant: str, gpu: str, fmt: str, max_model_len: int = TABLE_MAX_MODEL_LEN) -> Cell:
    """Plan one cell of the table (images at their default: one per prompt on 4B+)."""
    try:
        plan = plan_model(_model(variant, gpu, FORMATS[fmt], max_model_len), _HOST)
    except PlanError:
        return Cell(None, 0, False)
    scheme = catalogue.scheme(plan.engine.weight_scheme)
    major, minor = plan.accelerator.compute_capability or (0, 0)
    fallback = scheme.fallback is not None and major * 10 + minor < scheme.native_capability
    return Cell(plan.tensor_parallel_size, plan.capacity.kv_capacity_tokens, fallback)


_HOST = HostFacts(cores_per_node=1)


def markdown_table(max_model_len: int = TABLE_MAX_MODEL_LEN) -> str:
    """Every variant x format x GPU kind of the catalogue, as a Markdown table."""
    gpus = catalogue.gpu_kinds()
    lines = [
        "| variant | weights | " + " | ".join(gpus) + " |",
        "|---|---|" + "---|" * len(gpus),
    ]
    for variant in catalogue.variant_names():
        for fmt in FORMATS:
            cells = [cell(variant, gpu, fmt, max_model_len).markdown() for gpu in gpus]
            lines.append(f"| {variant} | {fmt} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table() -> str:
    """Which weight formats (and the FP8 KV cache) vLLM's CPU engine runs, by x86 ISA."""
    hosts = {"AVX2": (), "AVX-512": ("avx512",), "AVX-512 + AMX": ("avx512", "amx")}
    lines = ["| on the CPU engine | " + " | ".join(hosts) + " |", "|---|" + "---|" * len(hosts)]
    for name, scheme in catalogue.builtin_schemes().items():
        row = [_runs(scheme.cpu_needs, feats) for feats in hosts.values()]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    kv = [_runs(FP8_KV_CPU_NEEDS, feats) for feats in hosts.values()]
    lines.append("| FP8 KV cache | " + " | ".join(kv) + " |")
    return "\n".join(lines)


def _runs(needs: tuple[str, ...] | None, features: tuple[str, ...]) -> str:
    if needs is None:
        return "no"
    return "yes" if not needs or set(needs) & set(features) else "no"


def readme_section(max_model_len: int = TABLE_MAX_MODEL_LEN) -> str:
    """What `make regen` writes between the README's quant-table markers."""
    return "\n".join(
        [
            f"Each cell: the fewest GPUs (TP) of that kind that hold one "
            f"{max_model_len:,}-token sequence, and vLLM's KV cache size in tokens there "
            "(compiled engine, gpu_memory_utilization 0.9, one image per prompt on 4B+, "
            f"vLLM's default batch limits; `-`: not on {MAX_GPUS} GPUs). "
            "`*`: no FP8 tensor cores, vLLM runs the FP8 weights weight-only through Marlin.",
            "",
            markdown_table(max_model_len),
            "",
            cpu_table(),
        ]
    )
