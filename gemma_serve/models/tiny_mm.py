"""A tiny random-weight Gemma 3 image-text-to-text checkpoint, built locally, once.

Real 4B+ checkpoints are far too big for tests and laptops, and there is no
model hub here. This builds the same architecture (`Gemma3ForConditionalGeneration`:
a Gemma 3 text model plus a SigLIP tower) at toy size with transformers' own
classes, with the real Gemma 3 tokenizer from the prepared 270M checkpoint, so
vLLM loads it through exactly the code path a real 4B takes. Weights are
random: the text it generates is noise, but token counts, image handling and
every error path are real.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gemma_serve.errors import ModelPrepareError
from gemma_serve.models.manifest import manifest_ok, write_manifest
from gemma_serve.models.prepare import (
    BOS_ID,
    END_OF_TURN_ID,
    EOS_ID,
    PREPARE_FORMAT,
    cache_root,
    chat_template,
    embedded_checkpoint,
)

TINY_MM_NAME = "gemma-3-tiny-mm"
#: SigLIP input side in pixels and patch side: 8 x 8 patches, pooled 2 x 2.
IMAGE_SIZE, PATCH_SIZE = 112, 14
#: Soft tokens per image (real Gemma 3: 256); must be a square.
TOKENS_PER_IMAGE = 16
BOI_TOKEN, EOI_TOKEN, IMAGE_TOKEN = "<start_of_image>", "<end_of_image>", "<image_soft_token>"
BOI_ID, EOI_ID, IMAGE_TOKEN_ID = 255999, 256000, 262144
#: The multimodal Gemma 3 vocabulary (262,144 text tokens + the image soft token + padding).
VOCAB_SIZE = 262208
_FORMAT_VERSION = 1
_SEED = 0

Step = Callable[[str], None]


def tiny_mm_checkpoint(root: Path | None = None) -> Path:
    """Directory of the tiny multimodal checkpoint (may not exist yet)."""
    return (root or cache_root()) / "models" / TINY_MM_NAME


def build_tiny_mm(
    out_dir: Path | None = None,
    tokenizer_dir: Path | None = None,
    *,
    step: Step = lambda _: None,
) -> Path:
    """Return the verified tiny checkpoint at `out_dir`, building it first if needed.

    `tokenizer_dir` is a prepared Gemma 3 checkpoint whose tokenizer (with
    `<bos>` and the chat template) is reused; default the embedded 270M.
    """
    target = Path(out_dir) if out_dir is not None else tiny_mm_checkpoint()
    if manifest_ok(target, format=PREPARE_FORMAT, tiny_mm_format=_FORMAT_VERSION):
        step("verified existing checkpoint")
        return target
    source = Path(tokenizer_dir) if tokenizer_dir is not None else embedded_checkpoint()
    if not (source / "tokenizer.json").is_file():
        raise ModelPrepareError(
            f"{source}: no prepared Gemma 3 tokenizer; run `gemma-serve models prepare` first"
        )
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    step("writing tokenizer and image processor")
    _write_processor(source, tmp)
    step("writing random weights")
    _write_model(tmp)
    step("verifying")
    verify_tiny_mm(tmp)
    write_manifest(
        tmp,
        format=PREPARE_FORMAT,
        tiny_mm_format=_FORMAT_VERSION,
        source=f"random weights (seed {_SEED}); tokenizer from {source}",
    )
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    step("done")
    return target


def tiny_mm_config() -> Any:
    """The toy Gemma 3 config: 2 text layers (one local, one global), 2 SigLIP layers."""
    from transformers import Gemma3Config, Gemma3TextConfig, SiglipVisionConfig

    text = Gemma3TextConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        query_pre_attn_scalar=64,
        sliding_window=512,
        layer_types=["sliding_attention", "full_attention"],
        max_position_embeddings=32768,
        bos_token_id=BOS_ID,
        eos_token_id=[EOS_ID, END_OF_TURN_ID],
        pad_token_id=0,
    )
    vision: dict[str, Any] = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": IMAGE_SIZE,
        "patch_size": PATCH_SIZE,
        "vision_use_head": False,  # Gemma 3's tower has no pooling head
    }
    return Gemma3Config(
        text_config=text,
        vision_config=SiglipVisionConfig(**vision),
        mm_tokens_per_image=TOKENS_PER_IMAGE,
        boi_token_index=BOI_ID,
        eoi_token_index=EOI_ID,
        image_token_index=IMAGE_TOKEN_ID,
    )


def _write_processor(source: Path, out: Path) -> None:
    """The 270M tokenizer plus `<image_soft_token>` and the named image tokens."""
    from transformers import AddedToken, AutoTokenizer, Gemma3ImageProcessor, Gemma3Processor

    named = {"boi_token": BOI_TOKEN, "eoi_token": EOI_TOKEN, "image_token": IMAGE_TOKEN}
    tokenizer = AutoTokenizer.from_pretrained(source, extra_special_tokens=named)
    tokenizer.add_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)])
    if tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) != IMAGE_TOKEN_ID:
        raise ModelPrepareError(f"{source}: {IMAGE_TOKEN} would not be token {IMAGE_TOKEN_ID}")
    image_processor = Gemma3ImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_pan_and_scan=False,
        pan_and_scan_min_crop_size=IMAGE_SIZE // 4,
    )
    processor = Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=chat_template(),
        image_seq_length=TOKENS_PER_IMAGE,
    )
    processor.save_pretrained(out)
    tokenizer.chat_template = chat_template()
    tokenizer.save_pretrained(out)


def _write_model(out: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import Gemma3ForConditionalGeneration, GenerationConfig

    torch.manual_seed(_SEED)
    model: Any = Gemma3ForConditionalGeneration(tiny_mm_config())
    model = model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(
        bos_token_id=BOS_ID, eos_token_id=[EOS_ID, END_OF_TURN_ID], pad_token_id=0, do_sample=False
    )
    model.save_pretrained(out, safe_serialization=True)
    # transformers 5.19 saves the tower as `vision_tower.embeddings...`; vLLM 0.32's
    # Gemma 3 expects the SigLIP module path `vision_tower.vision_model.embeddings...`.
    for path in out.glob("*.safetensors"):
        tensors = load_file(path)
        renamed = {_vllm_weight_name(k): v.contiguous() for k, v in tensors.items()}
        save_file(renamed, path, metadata={"format": "pt"})
    index = out / "model.safetensors.index.json"
    if index.exists():
        data = json.loads(index.read_text())
        data["weight_map"] = {_vllm_weight_name(k): v for k, v in data["weight_map"].items()}
        index.write_text(json.dumps(data, indent=2))


def _vllm_weight_name(name: str) -> str:
    for prefix in ("vision_tower.", "model.vision_tower."):
        if name.startswith(prefix) and not name.startswith(prefix + "vision_model."):
            return prefix + "vision_model." + name[len(prefix) :]
    return name


def verify_tiny_mm(path: Path) -> None:
    """Fail loudly unless the processor expands one image into the tower's token count."""
    from PIL import Image
    from safetensors import safe_open
    from transformers import AutoConfig, AutoProcessor

    config = AutoConfig.from_pretrained(path)
    if config.model_type != "gemma3" or config.mm_tokens_per_image != TOKENS_PER_IMAGE:
        raise ModelPrepareError(f"{path}: not a tiny Gemma 3 multimodal config")
    processor = AutoProcessor.from_pretrained(path)
    tok = processor.tokenizer
    if tok.convert_tokens_to_ids(IMAGE_TOKEN) != IMAGE_TOKEN_ID:
        raise ModelPrepareError(f"{path}: {IMAGE_TOKEN} is not token {IMAGE_TOKEN_ID}")
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    out = processor(
        text=f"{BOI_TOKEN} in this image, there is", images=[image], return_tensors="pt"
    )
    ids: list[int] = out["input_ids"][0].tolist()
    if ids[0] != BOS_ID or ids.count(BOS_ID) != 1:
        raise ModelPrepareError(f"{path}: tokenizer does not add exactly one <bos>: {ids[:4]}")
    if ids.count(IMAGE_TOKEN_ID) != TOKENS_PER_IMAGE or ids.count(BOI_ID) != 1:
        raise ModelPrepareError(f"{path}: one image became {ids.count(IMAGE_TOKEN_ID)} tokens")
    if tuple(out["pixel_values"].shape) != (1, 3, IMAGE_SIZE, IMAGE_SIZE):
        raise ModelPrepareError(f"{path}: pixel_values {tuple(out['pixel_values'].shape)}")
    names: set[str] = set()
    for file in path.glob("*.safetensors"):
        with safe_open(str(file), framework="pt") as f:
            names.update(f.keys())
    if not any(".vision_model." in n or n.startswith("vision_model.") for n in names):
        raise ModelPrepareError(f"{path}: no vision_tower.vision_model.* weights")
