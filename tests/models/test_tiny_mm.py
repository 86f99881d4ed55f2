"""The tiny Gemma 3 image model: built with transformers' own classes, once, and usable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gemma_serve.errors import ModelPrepareError
from gemma_serve.models.manifest import MANIFEST
from gemma_serve.models.tiny_mm import (
    BOI_ID,
    EOI_ID,
    IMAGE_TOKEN_ID,
    TOKENS_PER_IMAGE,
    build_tiny_mm,
    verify_tiny_mm,
)


@pytest.fixture(scope="module")
def built(checkpoint_270m: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_mm(tmp_path_factory.mktemp("tiny") / "gemma-3-tiny-mm", checkpoint_270m)


def test_second_build_only_verifies(built: Path, checkpoint_270m: Path) -> None:
    steps: list[str] = []
    before = {p.name: p.stat().st_mtime_ns for p in built.iterdir()}
    assert build_tiny_mm(built, checkpoint_270m, step=steps.append) == built
    assert steps == ["verified existing checkpoint"]
    assert {p.name: p.stat().st_mtime_ns for p in built.iterdir()} == before


def test_a_damaged_checkpoint_is_rebuilt(checkpoint_270m: Path, tmp_path: Path) -> None:
    out = build_tiny_mm(tmp_path / "m", checkpoint_270m)
    (out / "config.json").write_text("{}")
    steps: list[str] = []
    build_tiny_mm(out, checkpoint_270m, step=steps.append)
    assert steps[-1] == "done" and json.loads((out / "config.json").read_text())["model_type"]
    verify_tiny_mm(out)


def test_a_missing_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelPrepareError, match="models prepare"):
        build_tiny_mm(tmp_path / "m", tmp_path / "no-such-checkpoint")


def test_the_checkpoint_is_a_gemma3_image_model_for_vllm(built: Path) -> None:
    config = json.loads((built / "config.json").read_text())
    assert config["architectures"] == ["Gemma3ForConditionalGeneration"]
    assert config["mm_tokens_per_image"] == TOKENS_PER_IMAGE
    assert (config["boi_token_index"], config["eoi_token_index"]) == (BOI_ID, EOI_ID)
    assert config["image_token_index"] == IMAGE_TOKEN_ID
    assert config["text_config"]["layer_types"] == ["sliding_attention", "full_attention"]
    assert config["vision_config"]["image_size"] == 112
    manifest = json.loads((built / MANIFEST).read_text())
    assert set(manifest["files"]) >= {"config.json", "model.safetensors", "tokenizer.json"}
    from safetensors import safe_open

    with safe_open(str(built / "model.safetensors"), framework="pt") as f:
        names = list(f.keys())
    tower = [n for n in names if "vision_tower" in n]
    assert tower and all("vision_tower.vision_model." in n for n in tower)  # vLLM's layout


def test_transformers_generates_from_the_model_card_raw_prompt(built: Path) -> None:
    """The model card's processor + generate example, on the tiny model (random text)."""
    import torch
    from transformers import AutoProcessor, Gemma3ForConditionalGeneration

    processor = AutoProcessor.from_pretrained(built)
    model: Any = Gemma3ForConditionalGeneration.from_pretrained(built, dtype=torch.bfloat16)
    image = Image.new("RGB", (320, 200), (40, 160, 90))
    prompt = "<start_of_image> in this image, there is"
    inputs = processor(text=prompt, images=image, return_tensors="pt")
    ids = inputs["input_ids"][0].tolist()
    assert ids[0] == 2 and ids.count(IMAGE_TOKEN_ID) == TOKENS_PER_IMAGE
    assert len(ids) == 8 + TOKENS_PER_IMAGE + 3  # <bos> + 7 text tokens, then the image frame
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == len(ids) + 4
    chat = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert (
        chat == "<bos><start_of_turn>user\n<start_of_image>Hi<end_of_turn>\n<start_of_turn>model\n"
    )
