"""Quantized checkpoints in the plan: weight bytes per format and vLLM's rules for them.

Pure arithmetic and catalogue lookups (`gemma_serve.catalogue._quant` holds the
facts and their vLLM sources). Weight bytes follow what vLLM allocates per
rank: the quantized weight, its scales (fp32 per channel or tensor for FP8 and
INT8, bf16 per group for the weight-only int schemes) and packed zero points
(asymmetric schemes; GPTQ checkpoints always carry them). The embedding, tied
lm_head, norms and vision tower stay bf16.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator, Gemma3Variant, QuantScheme
from gemma_serve.catalogue._quant import (
    DEFAULT_GROUP_SIZE,
    FP8_KV_CPU_NEEDS,
    FP8_KV_CPU_REASON,
    FP8_KV_DTYPES,
)
from gemma_serve.config.models import ModelConfig
from gemma_serve.errors import PlanError

#: Block edge of FP8_BLOCK scales (llm-compressor and vLLM: 128 x 128).
_FP8_BLOCK = 128


def weight_scheme(model: ModelConfig) -> QuantScheme:
    """The weight format the model's checkpoint holds (`bf16` when unquantized)."""
    quant = model.engine.quantization
    if quant is None:
        return catalogue.scheme("bf16")
    name = quant.scheme or catalogue.METHOD_DEFAULT_SCHEME[quant.method]
    if name is None:  # the config refuses this; keep the planner total anyway
        raise PlanError(f"quantization.method={quant.method} needs a scheme")
    return catalogue.scheme(name)


def group_size(model: ModelConfig) -> int:
    """Weights per scale group (only meaningful for group-quantized schemes)."""
    quant = model.engine.quantization
    return quant.group_size if quant is not None else DEFAULT_GROUP_SIZE


def _linears(variant: Gemma3Variant) -> list[tuple[int, int]]:
    """(input, output) features of one decoder block's seven linear layers."""
    h, i = variant.hidden_size, variant.intermediate_size
    q, kv = variant.num_heads * variant.head_dim, variant.num_kv_heads * variant.head_dim
    return [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]


def _row_parallel_inputs(variant: Gemma3Variant) -> list[int]:
    """Input features of the layers TP splits along their input (o_proj, down_proj)."""
    return [variant.num_heads * variant.head_dim, variant.intermediate_size]


def _linear_bytes(k: int, n: int, fmt: QuantScheme, group: int, zeros: bool) -> int:
    """Bytes of one k-input, n-output linear weight in `fmt`, with its scales."""
    weight = n * k * fmt.weight_bits // 8
    if fmt.name == "bf16":
        return weight
    if fmt.scales == "tensor":
        scales = 1
    elif fmt.scales == "channel":
        scales = n
    elif fmt.scales == "block":
        scales = math.ceil(n / _FP8_BLOCK) * math.ceil(k / _FP8_BLOCK)
    else:
        scales = n * (1 if group == -1 else math.ceil(k / group))
    extra = scales * fmt.scale_bytes
    if fmt.group_quantized and zeros:
        extra += scales * fmt.weight_bits // 8
    return weight + extra


def text_weight_bytes(variant: Gemma3Variant, model: ModelConfig, elem: int) -> int:
    """Language-model weights: quantized linear layers + everything else at `elem` bytes."""
    fmt = weight_scheme(model)
    quant = model.engine.quantization
    zeros = fmt.zero_points or (quant is not None and quant.method == "gptq")
    linears = _linears(variant)
    linear_params = variant.num_layers * sum(k * n for k, n in linears)
    rest = variant.text_params() - linear_params  # embedding (= lm_head), norms
    if fmt.name == "bf16":
        return rest * elem + linear_params * elem
    block = sum(_linear_bytes(k, n, fmt, group_size(model), zeros) for k, n in linears)
    return rest * elem + variant.num_layers * block


def has_cpu(needs: Iterable[str], features: Iterable[str]) -> bool:
    """Whether a host with `features` has one of `needs` (empty needs: any x86)."""
    wanted = list(needs)
    return not wanted or bool(set(wanted) & set(features))


def check(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, cpu_features: Iterable[str]
) -> None:
    """Refuse, in one line, what vLLM would refuse for this format on this device."""
    fmt = weight_scheme(model)
    name = f"gemma-3-{variant.name}"
    features = list(cpu_features)
    kv = model.engine.kv_cache_dtype
    quant = model.engine.quantization
    if quant is not None and model.dtype == "float32":
        if "float32" not in catalogue.METHOD_ACT_DTYPES[quant.method]:
            raise PlanError(
                f"{name}: dtype=float32 is not supported for quantization method "
                f"{quant.method} in vLLM (bf16 or fp16 activations only); use dtype bfloat16"
            )
    if device.is_cpu:
        if fmt.cpu_needs is None or not has_cpu(fmt.cpu_needs, features):
            need = " or ".join(fmt.cpu_needs or ()) or "a GPU"
            raise PlanError(
                f"{name}: {fmt.name} weights do not run on the CPU engine here (needs {need}: "
                f"{fmt.cpu_reason}); use W8A8, FP8_DYNAMIC or bf16 on this host"
            )
        if kv in FP8_KV_DTYPES and not has_cpu(FP8_KV_CPU_NEEDS, features):
            raise PlanError(
                f"{name}: kv_cache_dtype={kv} is refused by vLLM here: "
                f"{FP8_KV_CPU_REASON} (this host has {', '.join(features) or 'AVX2 only'}); "
                "use kv_cache_dtype auto"
            )
        return
    cap = _capability(device)
    if cap < fmt.min_capability:
        raise PlanError(
            f"{name}: {fmt.name} needs compute capability {fmt.min_capability / 10:.1f}+ in "
            f"vLLM; {device.name} has {cap / 10:.1f}; use bf16 weights or another GPU kind"
        )


def check_tensor_parallel(model: ModelConfig, variant: Gemma3Variant, tp: int) -> None:
    """Group scales must not straddle ranks: each rank's input slice holds whole groups."""
    fmt = weight_scheme(model)
    group = group_size(model)
    if not fmt.group_quantized or group == -1:
        return
    for k in _row_parallel_inputs(variant):
        if (k // tp) % group:
            raise PlanError(
                f"gemma-3-{variant.name}: {fmt.name} with group_size={group} at "
                f"tensor_parallel_size={tp}: a rank's {k // tp} input features of a "
                "row-parallel layer are not whole groups (vLLM: input size not aligned); "
                "use a smaller TP"
            )


def notes(model: ModelConfig, variant: Gemma3Variant, device: Accelerator) -> list[str]:
    """What the plan assumes about the format, and how vLLM will run it here."""
    fmt = weight_scheme(model)
    out = []
    if fmt.name != "bf16":
        quant = model.engine.quantization
        method = quant.method if quant else ""
        group = f", group size {group_size(model)}" if fmt.group_quantized else ""
        kept = "embedding (tied lm_head), norms"
        if variant.multimodal:
            kept += ", vision tower and projector"
        out.append(
            f"weights: {fmt.name} ({fmt.summary}{group}), loaded with --quantization "
            f"{method}; {kept} stay bf16"
        )
        if not device.is_cpu and _capability(device) < fmt.native_capability and fmt.fallback:
            out.append(f"{device.name} (cc {_capability(device) / 10:.1f}): {fmt.fallback}")
    if model.engine.kv_cache_dtype in FP8_KV_DTYPES:
        out.append(
            f"KV cache in {model.engine.kv_cache_dtype}: one byte per element, twice the "
            "tokens of bf16 (scales from the checkpoint if it has them, else 1.0)"
        )
    return out


def _capability(device: Accelerator) -> int:
    major, minor = device.compute_capability or (0, 0)
    return major * 10 + minor
