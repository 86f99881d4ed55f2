"""Load strategies: closed-loop concurrency, constant and Poisson rates, bursts.

`LoadSpec` (a union discriminated on `kind`) is the only registry.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gemma_serve.bench.loads.base import LoadBase, Schedule
from gemma_serve.bench.loads.burst import BurstLoad
from gemma_serve.bench.loads.concurrent import ConcurrentLoad
from gemma_serve.bench.loads.rate import ConstantLoad, PoissonLoad

LoadSpec = Annotated[
    ConcurrentLoad | ConstantLoad | PoissonLoad | BurstLoad, Field(discriminator="kind")
]

__all__ = [
    "BurstLoad",
    "ConcurrentLoad",
    "ConstantLoad",
    "LoadBase",
    "LoadSpec",
    "PoissonLoad",
    "Schedule",
]
