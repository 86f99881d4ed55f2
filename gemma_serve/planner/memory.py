"""Device memory of one replica besides the KV cache (GPU only).

Weights are computed from the architecture. The rest is an estimate of what
vLLM's profiling run leaves used, per rank:
- runtime: CUDA context, cuBLAS workspace and allocator slack, 0.75 GiB; plus
  0.25 GiB of NCCL buffers when TP > 1;
- activations: the profile forward over `max_num_batched_tokens` tokens,
  tokens * (4 * hidden + 3 * intermediate / TP) * dtype bytes;
- sampler: `max_num_seqs` rows of full-vocabulary float32 logits and probs
  (Gemma's 262K vocabulary makes this large);
- vision encoder profile (images on): up to 16 images of 4096 patches through
  SigLIP;
- CUDA graphs (compiled engines, vLLM's default on GPUs): vLLM captures one
  graph per batch size up to `max_num_seqs` (at most 512) and keeps their
  memory pool; estimated at 1 GiB per rank (vLLM measures it at start).
"""

from __future__ import annotations

from gemma_serve.catalogue import Gemma3Variant
from gemma_serve.catalogue._hardware import GiB
from gemma_serve.config.models import ModelConfig
from gemma_serve.planner import quant

#: CUDA-graph memory pool per rank when the engine is compiled (see the module docstring).
CUDA_GRAPH_BYTES = GiB


def dtype_bytes(dtype: str) -> int:
    """Bytes per element; `auto` is bf16 for Gemma 3."""
    return 4 if dtype == "float32" else 2


def kv_dtype_bytes(model: ModelConfig) -> int:
    """Bytes per KV element: fp8 variants are 1, `auto` follows the model."""
    if model.engine.kv_cache_dtype.startswith("fp8"):
        return 1
    return dtype_bytes(model.dtype)


def weight_bytes(variant: Gemma3Variant, model: ModelConfig) -> int:
    """Language-model weights in the checkpoint's format (`quant`), the rest at the dtype."""
    return quant.text_weight_bytes(variant, model, dtype_bytes(model.dtype))


def vision_bytes(variant: Gemma3Variant, model: ModelConfig, *, images: bool) -> int:
    """SigLIP + projector (never quantized); vLLM skips the tower when images are off."""
    if not images or variant.vision is None:
        return 0
    return variant.vision_params() * dtype_bytes(model.dtype)


def overhead_bytes_per_rank(
    variant: Gemma3Variant,
    model: ModelConfig,
    *,
    tp: int,
    max_num_batched_tokens: int,
    max_num_seqs: int,
    images: bool,
    compiled: bool,
) -> int:
    """Runtime + activation peak + sampler + encoder + CUDA graphs on one rank."""
    elem = dtype_bytes(model.dtype)
    runtime = int(0.75 * GiB) + (int(0.25 * GiB) if tp > 1 else 0)
    width = 4 * variant.hidden_size + 3 * variant.intermediate_size // tp
    activations = max_num_batched_tokens * width * elem
    sampler = max_num_seqs * variant.vocab_size * 4 * 2
    encoder = 0
    if images and variant.vision is not None:
        v = variant.vision
        n_images = max(1, min(max_num_batched_tokens // 256, 16))
        patches = (v.image_size // v.patch_size) ** 2
        encoder = n_images * patches * (4 * v.hidden_size + 2 * v.intermediate_size) * elem // tp
    graphs = CUDA_GRAPH_BYTES if compiled else 0
    return runtime + activations + sampler + encoder + graphs
