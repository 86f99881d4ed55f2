"""Datasets: seeded generators of benchmark requests.

`DatasetSpec` (a union discriminated on `kind`) is the only registry: adding a
dataset means one module and one entry here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gemma_serve.bench.datasets.base import BenchRequest, DatasetBase
from gemma_serve.bench.datasets.images import ImageChat, png_data_url
from gemma_serve.bench.datasets.shared_prefix import SharedPrefixChat
from gemma_serve.bench.datasets.synthetic import SyntheticText

DatasetSpec = Annotated[SyntheticText | SharedPrefixChat | ImageChat, Field(discriminator="kind")]

__all__ = [
    "BenchRequest",
    "DatasetBase",
    "DatasetSpec",
    "ImageChat",
    "SharedPrefixChat",
    "SyntheticText",
    "png_data_url",
]
