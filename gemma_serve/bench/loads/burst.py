"""Square bursts: `size` requests at once, every `interval_s` seconds."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from gemma_serve.bench.loads.base import Schedule, _OpenLoop


class BurstLoad(_OpenLoop):
    """Tests queueing and admission: the server sees `size` arrivals in one instant."""

    kind: Literal["burst"] = Field(default="burst", description="Load tag.")
    size: int = Field(ge=1, description="Requests sent together in each burst.")
    interval_s: float = Field(gt=0, description="Seconds between burst starts.")

    def schedule(self, n: int, rng: np.random.Generator) -> Schedule:
        return Schedule(
            [(i // self.size) * self.interval_s for i in range(n)], self.max_concurrency
        )

    @property
    def label(self) -> str:
        return f"burst {self.size}/{self.interval_s:g}s"

    @property
    def x_value(self) -> float:
        return self.size / self.interval_s
