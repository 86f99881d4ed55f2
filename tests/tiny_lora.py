"""Tiny LoRA adapters on the embedded Gemma 3 270M, made with peft, once.

There is no model hub here, and a LoRA a test can trust must be one peft itself
wrote: these are real peft adapters (adapter_config.json +
adapter_model.safetensors) for the real 270M, with random but non-zero weights
(peft starts B at zero, which would make an adapter a no-op), at several ranks
and on several target modules. Their outputs are noise-shifted continuations,
not skills; what matters is that every token is reproducible by transformers +
peft. Weights are stored in bf16, the dtype vLLM serves them in, so the
reference and the engine multiply the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.errors import ModelPrepareError

#: Bumped when the recipe changes, so old builds are rebuilt.
_FORMAT_VERSION = 1
_STAMP = "gemma-serve-adapter.json"
#: B is drawn like A (peft's `init_lora_weights=False`) then scaled down: the
#: adapter shifts the output visibly without drowning the base model.
B_SCALE = 0.08


class AdapterSpec(BaseModel):
    """How one test adapter is made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="Adapter (and directory) name.")
    rank: int = Field(..., ge=1, description="LoRA rank r.")
    target_modules: tuple[str, ...] = Field(..., description="peft target modules.")
    seed: int = Field(..., description="Torch seed of the random weights.")


ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
#: Adapters the tests, the benchmark and the README's example use.
TINY_ADAPTERS: tuple[AdapterSpec, ...] = (
    AdapterSpec(name="tiny-attn-r8", rank=8, target_modules=ATTN, seed=1),
    AdapterSpec(name="tiny-all-r16", rank=16, target_modules=ATTN + MLP, seed=2),
    AdapterSpec(name="tiny-mlp-r4", rank=4, target_modules=MLP, seed=3),
    AdapterSpec(name="tiny-qv-r8", rank=8, target_modules=("q_proj", "v_proj"), seed=4),
    AdapterSpec(name="tiny-down-r16", rank=16, target_modules=("down_proj",), seed=5),
    AdapterSpec(name="tiny-o-r4", rank=4, target_modules=("o_proj",), seed=6),
)


def build_adapters(
    out_dir: Path, base: Path, specs: tuple[AdapterSpec, ...] = TINY_ADAPTERS
) -> dict[str, Path]:
    """Each spec's adapter directory under `out_dir`, built first where missing or stale."""
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [s for s in specs if not _built(out_dir / s.name, s)]
    if todo:
        _build(out_dir, base, todo)
    return {s.name: out_dir / s.name for s in specs}


def _stamp(spec: AdapterSpec) -> dict[str, object]:
    return {"format": _FORMAT_VERSION, "b_scale": B_SCALE, **spec.model_dump(mode="json")}


def _built(path: Path, spec: AdapterSpec) -> bool:
    try:
        return bool(json.loads((path / _STAMP).read_text()) == _stamp(spec))
    except (OSError, ValueError):
        return False


def _build(out_dir: Path, base: Path, specs: list[AdapterSpec]) -> None:
    """Load the base once; wrap, randomise and save one adapter per spec."""
    try:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM
    except ImportError as exc:  # peft is a dev dependency
        raise ModelPrepareError(f"building test adapters needs peft: {exc}") from None

    model: Any = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16)
    for spec in specs:
        torch.manual_seed(spec.seed)
        config = LoraConfig(
            r=spec.rank,
            lora_alpha=2 * spec.rank,
            target_modules=list(spec.target_modules),
            lora_dropout=0.0,
            init_lora_weights=False,
        )
        peft_model = get_peft_model(model, config, adapter_name=spec.name)
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.mul_(B_SCALE)
        peft_model.to(torch.bfloat16)
        target = out_dir / spec.name
        peft_model.save_pretrained(str(out_dir), selected_adapters=[spec.name])
        _point_config_at(target, base)
        (target / _STAMP).write_text(json.dumps(_stamp(spec)))
        model = peft_model.unload()  # the base model back, without this adapter's layers
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's model card of the last save


def _point_config_at(path: Path, base: Path) -> None:
    """adapter_config.json names the base checkpoint the adapter was made on."""
    config_path = path / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = str(base)
    config_path.write_text(json.dumps(config, indent=2))
