"""Synthetic text prompts with configurable input and output lengths."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from gemma_serve.bench.datasets.base import BenchRequest, DatasetBase
from gemma_serve.bench.datasets.words import random_text
from gemma_serve.bench.lengths import FixedLength, LengthDist


class SyntheticText(DatasetBase):
    """Independent random-word prompts: no two requests share a prefix."""

    kind: Literal["synthetic"] = Field(default="synthetic", description="Dataset tag.")
    input_len: LengthDist = Field(
        default_factory=lambda: FixedLength(value=100),
        description="Prompt length in words (about one token each).",
    )

    def generate(self, n: int, rng: np.random.Generator) -> list[BenchRequest]:
        inputs = self.input_len.sample(n, rng)
        outputs = self.output_len.sample(n, rng)
        return [
            BenchRequest(output_len=o, prompt=random_text(i, rng), input_words=i)
            for i, o in zip(inputs, outputs, strict=True)
        ]
