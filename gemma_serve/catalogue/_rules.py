"""The serving rules of Gemma 3, each raising a one-line PlanError.

The messages name the offending setting, the limit and what to do instead,
because they end up verbatim on the CLI and in HTTP error bodies.
"""

from __future__ import annotations

from gemma_serve.catalogue._variants import MAX_OUTPUT_TOKENS, Gemma3Variant
from gemma_serve.errors import PlanError

#: Dtypes a Gemma 3 deployment may ask for; `auto` is the checkpoint's bf16.
DTYPES = ("bfloat16", "float32", "auto")
_FP16_NAMES = {"float16", "fp16", "half", "torch.float16"}
_ALIASES = {"bf16": "bfloat16", "fp32": "float32"}


def dtype_problem(dtype: str) -> str | None:
    """Why `dtype` cannot serve Gemma 3, or None if it can (the one home of the fp16 rule)."""
    key = dtype.lower()
    if key in _FP16_NAMES:
        return (
            f"dtype={dtype} is not supported: Gemma 3 is numerically unstable in float16 "
            "and vLLM refuses it; use bfloat16 (or float32 on GPUs without bf16)"
        )
    if _ALIASES.get(key, key) not in DTYPES:
        return f"dtype={dtype} is unknown; use {', '.join(DTYPES)}"
    return None


def check_dtype(variant: Gemma3Variant, dtype: str) -> None:
    """bf16 (or fp32); Gemma 3 overflows in fp16 and vLLM refuses it."""
    problem = dtype_problem(dtype)
    if problem:
        raise PlanError(f"gemma-3-{variant.name}: {problem}")


def check_context(variant: Gemma3Variant, max_model_len: int) -> None:
    """Context within what the variant was trained for."""
    if max_model_len > variant.max_context:
        raise PlanError(
            f"max_model_len={max_model_len} exceeds gemma-3-{variant.name}'s context of "
            f"{variant.max_context} tokens; use max_model_len <= {variant.max_context}"
            + ("" if variant.multimodal else " or a 4b+ variant (128K)")
        )


def check_output(variant: Gemma3Variant, max_output_tokens: int) -> None:
    """Output within Gemma 3's 8192-token ceiling."""
    if max_output_tokens > MAX_OUTPUT_TOKENS:
        raise PlanError(
            f"max_output_tokens={max_output_tokens} exceeds Gemma 3's output limit of "
            f"{MAX_OUTPUT_TOKENS} tokens"
        )


def check_images(variant: Gemma3Variant, max_images_per_prompt: int) -> None:
    """Images only on the sizes that have a vision tower (4b and larger)."""
    if max_images_per_prompt > 0 and not variant.multimodal:
        raise PlanError(
            f"multimodal.max_images_per_prompt={max_images_per_prompt}: gemma-3-{variant.name} "
            "is text-only (images need 4b, 12b or 27b); set it to 0"
        )


def check_tensor_parallel(variant: Gemma3Variant, tp: int) -> None:
    """TP must split the heads evenly and the KV heads evenly or by replication."""
    legal = variant.legal_tp_sizes()
    if tp not in legal:
        raise PlanError(
            f"tensor_parallel_size={tp} is not legal for gemma-3-{variant.name} "
            f"({variant.num_heads} heads, {variant.num_kv_heads} KV heads); "
            f"legal: {', '.join(map(str, legal))}"
        )
