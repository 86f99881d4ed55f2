"""What a dataset produces, and the abstract spec every dataset kind extends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from gemma_serve.bench._model import Strict
from gemma_serve.bench.lengths import FixedLength, LengthDist


@dataclass(frozen=True)
class BenchRequest:
    """One request's inputs; the client turns it into a completions or chat body.

    Exactly one of `prompt` (plain text) and `messages` (OpenAI chat messages)
    is set. `input_words` is the prompt's size in words; servers report the
    true token count in `usage.prompt_tokens`, which is what metrics use.
    """

    output_len: int
    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    input_words: int = 0

    def chat_messages(self) -> list[dict[str, Any]]:
        """The request as chat messages (plain prompts become one user turn)."""
        if self.messages is not None:
            return self.messages
        return [{"role": "user", "content": self.prompt or ""}]


class DatasetBase(Strict, ABC):
    """A seeded generator of benchmark requests; subclasses add a `kind` tag."""

    #: True if the requests only make sense on /v1/chat/completions.
    chat_only: ClassVar[bool] = False

    output_len: LengthDist = Field(
        default_factory=lambda: FixedLength(value=64),
        description="Output tokens per request (exact when `ignore_eos` is on).",
    )

    @abstractmethod
    def generate(self, n: int, rng: np.random.Generator) -> list[BenchRequest]:
        """`n` requests; the same `rng` state gives the same requests."""
