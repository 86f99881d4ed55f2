"""Architecture facts of each Gemma 3 size, as the planner needs them.

Numbers come from the transformers configs of the published checkpoints
(`google/gemma-3-*`: `configuration_gemma3.py` fields) and vLLM's
`model_executor/models/gemma3.py`; parameter counts are computed from them so
the weight model and the architecture can never disagree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Every Gemma 3 layer whose (index + 1) is a multiple of this is global.
LAYER_PATTERN = 6
TEXT_VOCAB = 262_144
#: Multimodal checkpoints append the image tokens after the text vocabulary.
MULTIMODAL_VOCAB = 262_208
MAX_OUTPUT_TOKENS = 8192
#: Each image (or pan-and-scan crop) becomes this many soft tokens.
TOKENS_PER_IMAGE = 256
#: Extra crops pan-and-scan may add to one image.
MAX_PAN_AND_SCAN_CROPS = 4


class VisionTower(BaseModel):
    """SigLIP-So400m as Gemma 3 4B+ ship it (896 px, patch 14)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_size: int = Field(default=1152, description="SigLIP width.")
    intermediate_size: int = Field(default=4304, description="SigLIP MLP width.")
    num_layers: int = Field(default=27, description="SigLIP encoder layers.")
    image_size: int = Field(default=896, description="Square input resolution in pixels.")
    patch_size: int = Field(default=14, description="Patch edge in pixels.")

    def num_params(self, text_hidden: int) -> int:
        """SigLIP parameters plus the projector into the text model."""
        h, i = self.hidden_size, self.intermediate_size
        per_layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 4 * h
        patches = (self.image_size // self.patch_size) ** 2
        embed = 3 * self.patch_size**2 * h + h + patches * h
        projector = h * text_hidden + h
        return self.num_layers * per_layer + embed + 2 * h + projector


class Gemma3Variant(BaseModel):
    """One Gemma 3 size: what vLLM builds, and the limits it serves within."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="Short size name, e.g. `27b`.")
    hf_architecture: str = Field(
        ..., description="transformers architecture a checkpoint of this size declares."
    )
    num_layers: int = Field(..., description="Decoder layers.")
    hidden_size: int = Field(..., description="Residual width.")
    intermediate_size: int = Field(..., description="MLP width.")
    num_heads: int = Field(..., description="Query heads.")
    num_kv_heads: int = Field(..., description="Key/value heads (GQA).")
    head_dim: int = Field(..., description="Width of one attention head.")
    sliding_window: int = Field(..., description="Tokens a local (sliding) layer attends to.")
    max_context: int = Field(..., description="Longest supported context in tokens.")
    vision: VisionTower | None = Field(default=None, description="Image tower; None for text-only.")

    @property
    def multimodal(self) -> bool:
        """Whether the variant accepts images."""
        return self.vision is not None

    @property
    def vocab_size(self) -> int:
        """Embedding rows of the checkpoint."""
        return MULTIMODAL_VOCAB if self.multimodal else TEXT_VOCAB

    @property
    def num_global_layers(self) -> int:
        """Full-attention layers: every sixth one (5 local : 1 global)."""
        return self.num_layers // LAYER_PATTERN

    @property
    def num_local_layers(self) -> int:
        """Sliding-window layers."""
        return self.num_layers - self.num_global_layers

    def legal_tp_sizes(self, limit: int = 32) -> list[int]:
        """TP sizes vLLM accepts: divide the heads; divide or be a multiple of the KV heads."""
        return [
            tp
            for tp in range(1, limit + 1)
            if self.num_heads % tp == 0
            and (self.num_kv_heads % tp == 0 or tp % self.num_kv_heads == 0)
        ]

    def text_params(self) -> int:
        """Parameters of the language model (tied embedding counted once)."""
        h, i, hd = self.hidden_size, self.intermediate_size, self.head_dim
        q, kv = self.num_heads * hd, self.num_kv_heads * hd
        attn = h * q + 2 * h * kv + q * h + 2 * hd  # + q_norm, k_norm
        mlp = 3 * h * i
        norms = 4 * h
        return self.num_layers * (attn + mlp + norms) + self.vocab_size * h + h

    def vision_params(self) -> int:
        """Parameters of the image tower and projector (0 for text-only sizes)."""
        return self.vision.num_params(self.hidden_size) if self.vision else 0


def _text(name: str, **kw: Any) -> Gemma3Variant:
    return Gemma3Variant(
        name=name, hf_architecture="Gemma3ForCausalLM", sliding_window=512, max_context=32_768, **kw
    )


def _mm(name: str, **kw: Any) -> Gemma3Variant:
    return Gemma3Variant(
        name=name,
        hf_architecture="Gemma3ForConditionalGeneration",
        sliding_window=1024,
        max_context=131_072,
        vision=VisionTower(),
        **kw,
    )


def builtin_variants() -> dict[str, Gemma3Variant]:
    """The five published sizes, keyed by short name."""
    specs = [
        _text("270m", num_layers=18, hidden_size=640, intermediate_size=2048,
              num_heads=4, num_kv_heads=1, head_dim=256),
        _text("1b", num_layers=26, hidden_size=1152, intermediate_size=6912,
              num_heads=4, num_kv_heads=1, head_dim=256),
        _mm("4b", num_layers=34, hidden_size=2560, intermediate_size=10240,
            num_heads=8, num_kv_heads=4, head_dim=256),
        _mm("12b", num_layers=48, hidden_size=3840, intermediate_size=15360,
            num_heads=16, num_kv_heads=8, head_dim=256),
        _mm("27b", num_layers=62, hidden_size=5376, intermediate_size=21504,
            num_heads=32, num_kv_heads=16, head_dim=128),
    ]  # fmt: skip
    return {v.name: v for v in specs}
