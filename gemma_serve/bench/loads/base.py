"""What a load strategy decides: when each request is sent, and how many fly at once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from gemma_serve.bench._model import Strict


@dataclass(frozen=True)
class Schedule:
    """Open loop: send request i at `offsets[i]` seconds after the start.

    Closed loop (`offsets is None`): `concurrency` workers each send the next
    request as soon as their previous one finishes. In open loop,
    `concurrency` (if set) caps requests in flight; later sends wait for a slot.
    """

    offsets: list[float] | None
    concurrency: int | None


class LoadBase(Strict, ABC):
    """A load shape; subclasses add a `kind` tag and their parameters."""

    num_requests: int | None = Field(
        default=None,
        ge=1,
        description="Requests of this step (count bound); default the spec's num_requests.",
    )

    @abstractmethod
    def schedule(self, n: int, rng: np.random.Generator) -> Schedule:
        """The send plan for `n` requests."""

    @property
    @abstractmethod
    def label(self) -> str:
        """A short name for tables and plots, e.g. `c=4` or `poisson 2 rps`."""

    @property
    @abstractmethod
    def x_value(self) -> float:
        """The number plotted on a sweep's x axis (concurrency or offered rate)."""


class _OpenLoop(LoadBase, ABC):
    max_concurrency: int | None = Field(
        default=None, ge=1, description="Cap on requests in flight; default no cap."
    )
