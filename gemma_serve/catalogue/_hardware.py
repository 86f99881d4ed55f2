"""Accelerator kinds a replica can run on: the only list of them in gemma-serve.

Everything else that names GPU kinds (the config's accepted values, the Helm
chart's Ray accelerator map, the values schema) is generated from this list
by `make regen` (`python -m gemma_serve.catalogue`), and CI fails when a
generated file is stale.

GPU memory is the total the driver reports (nvidia-smi MiB), which is what
vLLM multiplies by `gpu_memory_utilization`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024**2
GiB = 1024**3


class Accelerator(BaseModel):
    """One kind of device a replica's ranks run on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="Catalogue key, as in `hardware.accelerator`.")
    memory_bytes: int = Field(
        ..., description="Device memory per GPU in bytes (0 on CPU: RAM is not planned)."
    )
    ray_name: str | None = Field(
        ...,
        description="Ray's accelerator type (`ray.util.accelerators`); worker nodes advertise "
        "`accelerator_type:<ray_name>` so replicas land on their kind. None on CPU.",
    )
    compute_capability: tuple[int, int] | None = Field(
        ..., description="CUDA compute capability (FP8 needs 8.9+); None on CPU."
    )
    vllm_large_defaults: bool = Field(
        default=False,
        description="vLLM uses its big-GPU scheduler defaults (>= 70 GiB and not an A100).",
    )

    @property
    def is_cpu(self) -> bool:
        """Whether this is vLLM's CPU engine rather than a GPU."""
        return self.ray_name is None


def _gpu(
    name: str, mib: int, ray_name: str, cc: tuple[int, int], large: bool = False
) -> Accelerator:
    return Accelerator(
        name=name, memory_bytes=mib * MiB, ray_name=ray_name, compute_capability=cc,
        vllm_large_defaults=large,
    )  # fmt: skip


def builtin_accelerators() -> dict[str, Accelerator]:
    """The accelerator kinds gemma-serve plans for, keyed by name, CPU first."""
    specs = [
        Accelerator(name="cpu", memory_bytes=0, ray_name=None, compute_capability=None),
        _gpu("l4", 23034, "L4", (8, 9)),
        _gpu("a10g", 23028, "A10G", (8, 6)),
        _gpu("a100-40gb", 40960, "A100-40G", (8, 0)),
        _gpu("a100-80gb", 81920, "A100-80G", (8, 0)),
        _gpu("h100-80gb", 81559, "H100", (9, 0), large=True),
        _gpu("h200", 143771, "H200", (9, 0), large=True),
    ]
    return {a.name: a for a in specs}
