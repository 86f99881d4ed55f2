"""Closed loop: a fixed number of users, each waiting for its answer before asking again."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from gemma_serve.bench.loads.base import LoadBase, Schedule


class ConcurrentLoad(LoadBase):
    """`concurrency` requests always in flight (`vllm bench serve --max-concurrency`)."""

    kind: Literal["concurrent"] = Field(default="concurrent", description="Load tag.")
    concurrency: int = Field(ge=1, description="Requests kept in flight.")

    def schedule(self, n: int, rng: np.random.Generator) -> Schedule:
        return Schedule(offsets=None, concurrency=self.concurrency)

    @property
    def label(self) -> str:
        return f"c={self.concurrency}"

    @property
    def x_value(self) -> float:
        return float(self.concurrency)
