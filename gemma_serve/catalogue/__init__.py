"""Built-in catalogue of Gemma 3 variants and accelerator kinds, and their rules."""

from __future__ import annotations

from gemma_serve.catalogue._hardware import Accelerator, builtin_accelerators
from gemma_serve.catalogue._quant import (
    FP8_KV_DTYPES,
    METHOD_ACT_DTYPES,
    METHOD_DEFAULT_SCHEME,
    QuantScheme,
    builtin_schemes,
    quant_methods,
    quant_problem,
    quant_scheme_names,
    scheme,
)
from gemma_serve.catalogue._rules import (
    DTYPES,
    check_context,
    check_dtype,
    check_images,
    check_output,
    check_tensor_parallel,
    dtype_problem,
)
from gemma_serve.catalogue._variants import (
    MAX_OUTPUT_TOKENS,
    TOKENS_PER_IMAGE,
    Gemma3Variant,
    VisionTower,
    builtin_variants,
)
from gemma_serve.errors import ConfigError

__all__ = [
    "DTYPES",
    "FP8_KV_DTYPES",
    "MAX_OUTPUT_TOKENS",
    "METHOD_ACT_DTYPES",
    "METHOD_DEFAULT_SCHEME",
    "TOKENS_PER_IMAGE",
    "Accelerator",
    "Gemma3Variant",
    "QuantScheme",
    "VisionTower",
    "accelerator",
    "accelerator_names",
    "builtin_schemes",
    "check_context",
    "check_dtype",
    "check_images",
    "check_output",
    "check_tensor_parallel",
    "dtype_problem",
    "gpu_kinds",
    "quant_methods",
    "quant_problem",
    "quant_scheme_names",
    "scheme",
    "variant",
    "variant_names",
]

_GPU_ALIASES = {
    "h100": "h100-80gb",
    "h100-80g": "h100-80gb",
    "h100-sxm": "h100-80gb",
    "a100": "a100-80gb",
    "a100-80g": "a100-80gb",
    "a100-40g": "a100-40gb",
    "h200-141gb": "h200",
    "nvidia-l4": "l4",
}


def variant_names() -> list[str]:
    """Known sizes, smallest first."""
    return list(builtin_variants())


def accelerator_names() -> list[str]:
    """Known accelerator kinds, CPU first."""
    return list(builtin_accelerators())


def gpu_kinds() -> list[str]:
    """Known GPU kinds (every accelerator but the CPU), in catalogue order."""
    return [a.name for a in builtin_accelerators().values() if not a.is_cpu]


def variant(name: str) -> Gemma3Variant:
    """The variant called `name` (`27b`, `gemma-3-27b-it`, `27B` ...), or a ConfigError."""
    key = name.strip().lower().removeprefix("google/")
    for prefix in ("gemma-3-", "gemma3-", "gemma-3", "gemma3"):
        key = key.removeprefix(prefix)
    key = key.removesuffix("-it").removesuffix("-pt")
    found = builtin_variants().get(key)
    if found is None:
        raise ConfigError(f"unknown Gemma 3 variant {name!r} (known: {', '.join(variant_names())})")
    return found


def accelerator(name: str) -> Accelerator:
    """The accelerator kind called `name` (`h100-80gb`, `H100`, `cpu` ...), or a ConfigError."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = _GPU_ALIASES.get(key, key)
    found = builtin_accelerators().get(key)
    if found is None:
        raise ConfigError(f"unknown accelerator {name!r} (known: {', '.join(accelerator_names())})")
    return found
