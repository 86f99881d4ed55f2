"""Quantized copies of the embedded Gemma 3 270M, made with llm-compressor (test tooling).

Run with a Python that has `llmcompressor` (it pins transformers and
compressed-tensors apart from the serving venv, so it lives in its own venv):

    QUANTIZER_PYTHON tests/quant/make_checkpoints.py SRC OUT SCHEME [SCHEME ...]

Each SCHEME is an llm-compressor preset (`W8A8`, `W4A16`, `FP8_DYNAMIC`, ...) or
`GPTQ-W4A16` / `AWQ-W4A16_ASYM` for the calibrated algorithms. What stays bf16
follows llm-compressor's Gemma 3 examples: `lm_head` (tied to the embedding,
which is not a Linear and is never quantized) and, on the multimodal sizes, the
vision tower and projector. Calibration (static FP8, GPTQ, AWQ) uses a few
in-memory texts: there is no dataset hub here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

IGNORE = ["lm_head", "re:vision_tower.*", "re:multi_modal_projector.*"]
#: Schemes whose scales come from activations or Hessians need calibration text.
CALIBRATED = {"FP8", "GPTQ-W4A16", "AWQ-W4A16_ASYM"}
TEXTS = [
    "The capital of France is Paris, and the capital of Italy is Rome.",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)",
    "Once upon a time, in a small village by the sea, there lived an old fisherman.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.",
    "In 1969, Apollo 11 landed on the Moon and Neil Armstrong took the first step.",
    "To install the package, run pip install and then import it in your script.",
    "Water boils at 100 degrees Celsius at sea level and freezes at 0 degrees.",
] * 4


def _recipe(scheme: str) -> object:
    from llmcompressor.modifiers.awq import AWQModifier
    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier

    if scheme == "GPTQ-W4A16":
        return GPTQModifier(targets="Linear", scheme="W4A16", ignore=IGNORE)
    if scheme == "AWQ-W4A16_ASYM":
        return AWQModifier(targets="Linear", scheme="W4A16_ASYM", ignore=IGNORE)
    return QuantizationModifier(targets="Linear", scheme=scheme, ignore=IGNORE)


def _calibration(tokenizer: object) -> object:
    from datasets import Dataset

    encoded = [tokenizer(t, add_special_tokens=True) for t in TEXTS]  # type: ignore[operator]
    return Dataset.from_list([{"input_ids": e["input_ids"]} for e in encoded])


def make(src: Path, out: Path, scheme: str) -> None:
    """Quantize `src` with `scheme` into `out` (compressed-tensors format)."""
    import torch
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(src)
    kwargs: dict[str, object] = {}
    if scheme in CALIBRATED:
        kwargs = {
            "dataset": _calibration(tokenizer),
            "num_calibration_samples": len(TEXTS),
            "max_seq_length": 128,
        }
    oneshot(model=model, recipe=_recipe(scheme), **kwargs)
    model.save_pretrained(out, save_compressed=True)
    tokenizer.save_pretrained(out)
    for extra in ("chat_template.jinja", "generation_config.json"):
        if (src / extra).exists():
            (out / extra).write_bytes((src / extra).read_bytes())
    quant = json.loads((out / "config.json").read_text())["quantization_config"]
    print(f"MADE {scheme} {out} format={quant.get('format')}", flush=True)


def main(argv: list[str]) -> int:
    src, out, schemes = Path(argv[0]), Path(argv[1]), argv[2:]
    for scheme in schemes:
        make(src, out / scheme.lower(), scheme)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
