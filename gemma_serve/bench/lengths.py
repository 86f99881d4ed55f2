"""Length distributions for prompts and outputs.

Each kind is one pydantic model with a `kind` tag; `LengthDist` is their union
and the only registry. Samples are integers within the distribution's bounds,
so a normal distribution never asks for zero or negative tokens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from gemma_serve.bench._model import Strict


class _LengthBase(Strict, ABC):
    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> list[int]:
        """`n` lengths drawn with `rng`."""

    @property
    @abstractmethod
    def upper(self) -> int:
        """Largest length a sample may take (to size prompts against `max_model_len`)."""


class FixedLength(_LengthBase):
    """Every request has the same length (what `vllm bench serve --dataset-name random` uses)."""

    kind: Literal["fixed"] = Field(default="fixed", description="Distribution tag.")
    value: int = Field(ge=0, description="The length of every request.")

    def sample(self, n: int, rng: np.random.Generator) -> list[int]:
        return [self.value] * n

    @property
    def upper(self) -> int:
        return self.value


class UniformLength(_LengthBase):
    """Lengths drawn uniformly from `[low, high]`, both inclusive."""

    kind: Literal["uniform"] = Field(default="uniform", description="Distribution tag.")
    low: int = Field(ge=0, description="Smallest length (inclusive).")
    high: int = Field(ge=0, description="Largest length (inclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformLength:
        if self.low > self.high:
            raise ValueError(f"uniform length: low {self.low} > high {self.high}")
        return self

    def sample(self, n: int, rng: np.random.Generator) -> list[int]:
        return [int(v) for v in rng.integers(self.low, self.high + 1, size=n)]

    @property
    def upper(self) -> int:
        return self.high


class NormalLength(_LengthBase):
    """Lengths from a normal distribution, rounded and clipped to `[minimum, maximum]`."""

    kind: Literal["normal"] = Field(default="normal", description="Distribution tag.")
    mean: float = Field(gt=0, description="Mean length.")
    std: float = Field(ge=0, description="Standard deviation of the length.")
    minimum: int = Field(default=1, ge=0, description="Smallest length a sample may take.")
    maximum: int | None = Field(
        default=None, ge=1, description="Largest length; default mean + 4 standard deviations."
    )

    @model_validator(mode="after")
    def _ordered(self) -> NormalLength:
        if self.minimum > self.upper:
            raise ValueError(f"normal length: minimum {self.minimum} > maximum {self.upper}")
        return self

    def sample(self, n: int, rng: np.random.Generator) -> list[int]:
        raw = np.rint(rng.normal(self.mean, self.std, size=n)).astype(np.int64)
        return [int(v) for v in np.clip(raw, self.minimum, self.upper)]

    @property
    def upper(self) -> int:
        if self.maximum is not None:
            return self.maximum
        return int(np.ceil(self.mean + 4 * self.std))


LengthDist = Annotated[FixedLength | UniformLength | NormalLength, Field(discriminator="kind")]
