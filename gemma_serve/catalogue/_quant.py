"""Quantized weight formats and the FP8 KV cache: what vLLM 0.32 loads, and where it runs them.

Each fact is read from vLLM 0.32's own code (paths under `vllm/`):
- Minimum GPU capabilities are each method's or scheme's `get_min_capability()`;
  vLLM refuses a checkpoint below it (`config/vllm.py` `_get_quantization_config`,
  compressed-tensors `_check_scheme_supported`). Every GPU kind of the catalogue
  (8.0 and up) passes them; the rule still refuses a kind that does not.
- FP8 weights on GPUs without FP8 tensor cores (below 8.9: A100, A10G) are not
  refused: vLLM runs them weight-only through Marlin's FP8 kernel
  (compressed-tensors: `_get_scheme_from_parts` falls back to
  `CompressedTensorsW8A16Fp8`; `fp8`: `Fp8LinearMethod` picks
  `MarlinFP8ScaledMMLinearKernel`). The memory saving holds; the FP8 matmul
  speed-up does not.
- The CPU engine ships three kernel libraries and loads one by the host's ISA
  (`platforms/cpu.py` `import_kernels`): `_C` (AVX-512 + BF16), `_C_AVX512`,
  `_C_AVX2`. `_C_AVX2` lacks `cpu_gemm_wna16` (the 4/8-bit weight-only kernel
  behind W4A16, AWQ and GPTQ) and `fp8_scaled_mm_cpu`; INT8 W8A8 runs everywhere
  through oneDNN (`CPUInt8ScaledMMLinearKernel`); FP8_DYNAMIC runs through
  torch._scaled_mm (`ChannelWiseTorchFP8ScaledMMLinearKernel`). Static per-tensor
  FP8 does not load on any CPU build: fused layers' weights are requantized with
  `static_scaled_fp8_quant` (`quantization/utils/w8a8_utils.py`
  `requantize_with_max_scale`), declared `() -> ()` in all three libraries.
  The FP8 KV cache on CPU needs AVX-512 or AMX
  (`v1/attention/backends/cpu_attn.py` `_get_attn_isa`).
- Which layers stay bf16 (llm-compressor's Gemma 3 recipes and vLLM's loader):
  the embedding (Gemma 3 ties `lm_head` to it, so it is one bf16 matrix), all
  norms, and on 4B+ the SigLIP tower and projector
  (`ignore: ["re:.*lm_head", "re:vision_tower.*", "re:multi_modal_projector.*"]`).
  Only the decoder's seven linear layers per block are quantized.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: x86 ISA features vLLM's CPU engine tests for (torch.cpu._is_avx512_supported & co).
CpuFeature = Literal["avx512", "avx512_bf16", "amx"]
#: `kv_cache_dtype` values that store the cache in FP8 (one byte per element).
FP8_KV_DTYPES = ("fp8", "fp8_e4m3", "fp8_e5m2")
#: The FP8 KV cache on the CPU engine needs one of these (cpu_attn.py `_get_attn_isa`).
FP8_KV_CPU_NEEDS: tuple[CpuFeature, ...] = ("avx512", "amx")
FP8_KV_CPU_REASON = "FP8 KV cache on CPU requires x86 with AVX-512 or AMX"
#: Default weights per scale group of the int weight-only schemes (llm-compressor, AWQ, GPTQ).
DEFAULT_GROUP_SIZE = 128


class QuantScheme(BaseModel):
    """One weight format of a Gemma 3 checkpoint, named as llm-compressor's presets name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="llm-compressor preset name, e.g. `W4A16`.")
    summary: str = Field(..., description="What the weights and activations are, in words.")
    weight_bits: int = Field(..., description="Bits per quantized linear weight.")
    scales: Literal["tensor", "channel", "group", "block"] = Field(
        ..., description="Granularity of the weight scales."
    )
    scale_bytes: int = Field(..., description="Bytes per scale as vLLM allocates it.")
    zero_points: bool = Field(..., description="Asymmetric: a packed zero point per group.")
    activations: Literal["bf16", "fp8", "int8"] = Field(
        ..., description="What the matmul inputs are (bf16: weight-only)."
    )
    methods: tuple[str, ...] = Field(
        ..., description="vLLM `--quantization` values whose checkpoints use this scheme."
    )
    min_capability: int = Field(
        ..., description="vLLM's `get_min_capability()` (e.g. 75 = 7.5); refused below."
    )
    native_capability: int = Field(
        ..., description="Below this, vLLM runs the scheme through a fallback kernel."
    )
    fallback: str | None = Field(None, description="What vLLM does below native_capability.")
    cpu_needs: tuple[CpuFeature, ...] | None = Field(
        ...,
        description="CPU engine: () runs on any x86 (AVX2), otherwise one of these features; "
        "None: vLLM's CPU engine cannot run it.",
    )
    cpu_reason: str | None = Field(None, description="Why the CPU engine needs them.")

    @property
    def group_quantized(self) -> bool:
        """Whether the scheme keeps one scale per group of input weights."""
        return self.scales == "group"


_FP8_FALLBACK = (
    "no FP8 tensor cores below 8.9: vLLM runs the FP8 weights weight-only through "
    "Marlin (W8A16); the memory saving holds, activations stay bf16"
)
_WNA16_CPU = (
    "vLLM's CPU weight-only int kernel (cpu_gemm_wna16) is only in its AVX-512 builds "
    "(_C, _C_AVX512), not in _C_AVX2"
)
_FP8_CPU = (
    "vLLM's CPU FP8 matmul kernels need AMX (CPUFP8W8A8ScaledMMLinearKernel); "
    "elsewhere torch._scaled_mm"
)


def builtin_schemes() -> dict[str, QuantScheme]:
    """Every weight format the planner sizes, keyed by name (bf16 first)."""
    specs = [
        QuantScheme(
            name="bf16", summary="unquantized bf16 weights", weight_bits=16, scales="tensor",
            scale_bytes=0, zero_points=False, activations="bf16", methods=(),
            min_capability=0, native_capability=0, cpu_needs=(),
        ),
        QuantScheme(
            name="FP8_DYNAMIC",
            summary="FP8 e4m3 weights with per-channel scales; activations quantized to FP8 "
            "per token at run time (no calibration)",
            weight_bits=8, scales="channel", scale_bytes=4, zero_points=False,
            activations="fp8", methods=("compressed-tensors", "fp8"),
            min_capability=75, native_capability=89, fallback=_FP8_FALLBACK,
            cpu_needs=(), cpu_reason=_FP8_CPU,
        ),
        QuantScheme(
            name="FP8",
            summary="FP8 e4m3 weights with per-tensor scales; static per-tensor activation "
            "scales from calibration",
            weight_bits=8, scales="tensor", scale_bytes=4, zero_points=False,
            activations="fp8", methods=("compressed-tensors", "fp8"),
            min_capability=75, native_capability=89, fallback=_FP8_FALLBACK,
            cpu_needs=None,
            cpu_reason="vLLM requantizes fused per-tensor FP8 weights at load with "
            "static_scaled_fp8_quant, an empty stub in every vLLM CPU build",
        ),
        QuantScheme(
            name="FP8_BLOCK",
            summary="FP8 e4m3 weights with a scale per 128x128 block; activations per "
            "128-wide group at run time",
            weight_bits=8, scales="block", scale_bytes=4, zero_points=False,
            activations="fp8", methods=("compressed-tensors", "fp8"),
            min_capability=75, native_capability=89, fallback=_FP8_FALLBACK,
            cpu_needs=("amx",),
            cpu_reason="vLLM's CPU block-FP8 kernels need AMX (CPUFp8BlockScaledMMKernel)",
        ),
        QuantScheme(
            name="W8A8",
            summary="INT8 weights with per-channel scales; activations quantized to INT8 per "
            "token at run time",
            weight_bits=8, scales="channel", scale_bytes=4, zero_points=False,
            activations="int8", methods=("compressed-tensors",),
            min_capability=75, native_capability=75, cpu_needs=(),
        ),
        QuantScheme(
            name="W8A16",
            summary="INT8 weight-only, one bf16 scale per group",
            weight_bits=8, scales="group", scale_bytes=2, zero_points=False,
            activations="bf16", methods=("compressed-tensors", "gptq"),
            min_capability=75, native_capability=75,
            cpu_needs=("avx512",), cpu_reason=_WNA16_CPU,
        ),
        QuantScheme(
            name="W4A16",
            summary="INT4 weight-only, symmetric, one bf16 scale per group",
            weight_bits=4, scales="group", scale_bytes=2, zero_points=False,
            activations="bf16", methods=("compressed-tensors", "gptq", "awq"),
            min_capability=75, native_capability=75,
            cpu_needs=("avx512",), cpu_reason=_WNA16_CPU,
        ),
        QuantScheme(
            name="W4A16_ASYM",
            summary="INT4 weight-only, asymmetric: a bf16 scale and a 4-bit zero point per "
            "group (AWQ's layout)",
            weight_bits=4, scales="group", scale_bytes=2, zero_points=True,
            activations="bf16", methods=("compressed-tensors", "awq"),
            min_capability=75, native_capability=75,
            cpu_needs=("avx512",), cpu_reason=_WNA16_CPU,
        ),
    ]  # fmt: skip
    return {s.name: s for s in specs}


#: `--quantization` values gemma-serve passes, with the scheme a bare method means.
METHOD_DEFAULT_SCHEME: dict[str, str | None] = {
    "compressed-tensors": None,
    "fp8": "FP8_DYNAMIC",
    "awq": "W4A16_ASYM",
    "gptq": "W4A16",
}


#: Activation dtypes each method's config accepts (`get_supported_act_dtypes`), of Gemma's.
METHOD_ACT_DTYPES: dict[str, tuple[str, ...]] = {
    "compressed-tensors": ("bfloat16", "float32"),
    "fp8": ("bfloat16",),
    "awq": ("bfloat16",),
    "gptq": ("bfloat16",),
}


def quant_methods() -> list[str]:
    """The `--quantization` values a config may name."""
    return list(METHOD_DEFAULT_SCHEME)


def quant_scheme_names() -> list[str]:
    """The quantized schemes a config may name (bf16 is no scheme)."""
    return [n for n in builtin_schemes() if n != "bf16"]


def quant_problem(method: str, scheme: str | None) -> str | None:
    """Why `method` cannot load a `scheme` checkpoint, or None (the one home of that rule)."""
    if scheme is None:
        if METHOD_DEFAULT_SCHEME.get(method) is None:
            names = ", ".join(quant_scheme_names())
            return f"quantization.method={method} needs a scheme ({names})"
        return None
    found = builtin_schemes().get(scheme)
    if found is None or found.name == "bf16":
        return f"quantization.scheme={scheme} is unknown; use {', '.join(quant_scheme_names())}"
    if method not in found.methods:
        which = ", ".join(n for n, s in builtin_schemes().items() if method in s.methods)
        return (
            f"quantization.method={method} does not load {scheme} checkpoints "
            f"(vLLM's {method} loader takes {which})"
        )
    return None


def scheme(name: str) -> QuantScheme:
    """The scheme called `name` (`bf16` for unquantized weights)."""
    return builtin_schemes()[name]
