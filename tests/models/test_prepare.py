"""The embedded checkpoint: converted once, verified, reused; <bos>, stop tokens, template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemma_serve.models import prepare
from gemma_serve.models.manifest import manifest_ok


def test_prepared_checkpoint_is_a_gemma3_270m_with_bos_and_stop_tokens(
    checkpoint_270m: Path,
) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_270m)
    ids = tok("The capital of France is")["input_ids"]
    assert ids[0] == prepare.BOS_ID and ids.count(prepare.BOS_ID) == 1
    gen = json.loads((checkpoint_270m / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [prepare.EOS_ID, prepare.END_OF_TURN_ID]
    chat = tok.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert chat == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    assert list(checkpoint_270m.glob("*.safetensors"))


def test_second_prepare_reuses_the_checkpoint(checkpoint_270m: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in checkpoint_270m.iterdir()}
    steps: list[str] = []
    again = prepare.prepare_embedded(checkpoint_270m.parent.parent, step=steps.append)
    assert again == checkpoint_270m
    assert steps == ["verified existing checkpoint"]
    assert {p.name: p.stat().st_mtime_ns for p in checkpoint_270m.iterdir()} == before


def test_a_tampered_checkpoint_is_not_trusted(checkpoint_270m: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models" / prepare.EMBEDDED_NAME
    copy.mkdir(parents=True)
    for p in checkpoint_270m.iterdir():
        if p.suffix != ".safetensors":
            (copy / p.name).write_bytes(p.read_bytes())
        else:
            (copy / p.name).symlink_to(p)
    assert manifest_ok(copy, format=prepare.PREPARE_FORMAT)
    cfg = copy / "tokenizer_config.json"
    cfg.write_text(cfg.read_text().replace('"add_bos_token": true', '"add_bos_token": false'))
    assert not manifest_ok(copy, format=prepare.PREPARE_FORMAT)


def test_chat_template_rejects_non_alternating_roles(checkpoint_270m: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_270m)
    with pytest.raises(Exception, match="alternate"):
        tok.apply_chat_template(
            [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], tokenize=False
        )
