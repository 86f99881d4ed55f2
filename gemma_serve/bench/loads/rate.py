"""Open loop at a request rate: constant spacing, or Poisson (gamma) arrivals."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from gemma_serve.bench.loads.base import Schedule, _OpenLoop


def _fmt(rate: float) -> str:
    return f"{rate:g}"


class ConstantLoad(_OpenLoop):
    """Request i is sent at i / rate seconds."""

    kind: Literal["constant"] = Field(default="constant", description="Load tag.")
    rate: float = Field(gt=0, description="Requests per second.")

    def schedule(self, n: int, rng: np.random.Generator) -> Schedule:
        return Schedule([i / self.rate for i in range(n)], self.max_concurrency)

    @property
    def label(self) -> str:
        return f"constant {_fmt(self.rate)} rps"

    @property
    def x_value(self) -> float:
        return self.rate


class PoissonLoad(_OpenLoop):
    """Gamma-distributed gaps as in `vllm bench serve` (burstiness 1 is Poisson).

    Like vLLM, the cumulative offsets are rescaled so the last request goes out
    at n / rate: the offered rate is exact whatever the seed.
    """

    kind: Literal["poisson"] = Field(default="poisson", description="Load tag.")
    rate: float = Field(gt=0, description="Mean requests per second.")
    burstiness: float = Field(
        default=1.0, gt=0, description="Gamma shape: 1 is Poisson, < 1 burstier, > 1 more even."
    )

    def schedule(self, n: int, rng: np.random.Generator) -> Schedule:
        theta = 1.0 / (self.rate * self.burstiness)
        offsets = np.cumsum(rng.gamma(shape=self.burstiness, scale=theta, size=n))
        if n and offsets[-1] > 0:
            offsets *= (n / self.rate) / offsets[-1]
        return Schedule([float(t) for t in offsets], self.max_concurrency)

    @property
    def label(self) -> str:
        extra = "" if self.burstiness == 1.0 else f" b={_fmt(self.burstiness)}"
        return f"poisson {_fmt(self.rate)} rps{extra}"

    @property
    def x_value(self) -> float:
        return self.rate
