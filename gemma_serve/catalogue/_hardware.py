"""Accelerator kinds a replica can run on.

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
    description: str = Field(..., description="Human-readable product name.")
    memory_bytes: int = Field(
        ..., description="Device memory per GPU in bytes (0 on CPU: RAM is not planned)."
    )
    bf16: bool = Field(default=True, description="Native bfloat16 support.")
    hbm_tb_s: float = Field(default=0.0, description="Memory bandwidth in TB/s, for notes only.")
    vllm_large_defaults: bool = Field(
        default=False,
        description="vLLM uses its big-GPU scheduler defaults (>= 70 GiB and not an A100).",
    )

    @property
    def is_cpu(self) -> bool:
        """Whether this is vLLM's CPU engine rather than a GPU."""
        return self.name == "cpu"


def builtin_accelerators() -> dict[str, Accelerator]:
    """The accelerator kinds gemma-serve plans for, keyed by name."""
    specs = [
        Accelerator(name="cpu", description="vLLM CPU engine", memory_bytes=0),
        Accelerator(name="l4", description="NVIDIA L4 24 GB", memory_bytes=23034 * MiB,
                    hbm_tb_s=0.3),
        Accelerator(name="a10g", description="NVIDIA A10G 24 GB", memory_bytes=23028 * MiB,
                    hbm_tb_s=0.6),
        Accelerator(name="a100-40gb", description="NVIDIA A100 40 GB",
                    memory_bytes=40960 * MiB, hbm_tb_s=1.56),
        Accelerator(name="a100-80gb", description="NVIDIA A100 80 GB",
                    memory_bytes=81920 * MiB, hbm_tb_s=2.04),
        Accelerator(name="h100-80gb", description="NVIDIA H100 SXM 80 GB",
                    memory_bytes=81559 * MiB, hbm_tb_s=3.35, vllm_large_defaults=True),
        Accelerator(name="h200", description="NVIDIA H200 141 GB", memory_bytes=143771 * MiB,
                    hbm_tb_s=4.8, vllm_large_defaults=True),
    ]  # fmt: skip
    return {a.name: a for a in specs}
