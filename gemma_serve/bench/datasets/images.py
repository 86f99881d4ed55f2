"""Chat requests carrying generated PNG images as data URLs (Gemma 3 4B+ vision)."""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import Field

from gemma_serve.bench.datasets.base import BenchRequest, DatasetBase
from gemma_serve.bench.datasets.words import random_text
from gemma_serve.bench.lengths import FixedLength, LengthDist


def png_data_url(width: int, height: int, rng: np.random.Generator) -> str:
    """A unique, smooth random PNG (coarse noise upscaled), as a `data:` URL.

    Unique so a multimodal cache cannot serve it; smooth so it stays small.
    """
    coarse = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(coarse, mode="RGB").resize((width, height), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class ImageChat(DatasetBase):
    """One user turn: `images_per_request` images followed by a short text prompt."""

    chat_only = True

    kind: Literal["image_chat"] = Field(default="image_chat", description="Dataset tag.")
    images_per_request: int = Field(default=1, ge=1, le=16, description="Images in each request.")
    width: int = Field(default=224, ge=8, le=4096, description="Image width in pixels.")
    height: int = Field(default=224, ge=8, le=4096, description="Image height in pixels.")
    input_len: LengthDist = Field(
        default_factory=lambda: FixedLength(value=20),
        description="Length of the text after the images, in words.",
    )

    def generate(self, n: int, rng: np.random.Generator) -> list[BenchRequest]:
        inputs = self.input_len.sample(n, rng)
        outputs = self.output_len.sample(n, rng)
        requests = []
        for i, o in zip(inputs, outputs, strict=True):
            content: list[dict[str, Any]] = [
                {
                    "type": "image_url",
                    "image_url": {"url": png_data_url(self.width, self.height, rng)},
                }
                for _ in range(self.images_per_request)
            ]
            content.append({"type": "text", "text": random_text(i, rng)})
            requests.append(
                BenchRequest(
                    output_len=o, messages=[{"role": "user", "content": content}], input_words=i
                )
            )
        return requests
