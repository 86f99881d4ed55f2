"""What to say when a config does not fit: why, and what would."""

from __future__ import annotations

import math

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator, Gemma3Variant
from gemma_serve.catalogue._hardware import GiB
from gemma_serve.config.models import ModelConfig

_MAX_GPUS = 16


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB"


def _with(
    model: ModelConfig,
    *,
    accel: str,
    count: int,
    tp: int | None = None,
    max_model_len: int | None = None,
) -> ModelConfig:
    hw = model.hardware.model_copy(update={"accelerator": accel, "count": count})
    update: dict[str, object] = {"hardware": hw, "tensor_parallel_size": tp or "auto"}
    if max_model_len is not None:
        update["max_model_len"] = max_model_len
    return model.model_copy(update=update)


def _fits(model: ModelConfig, variant: Gemma3Variant, device: Accelerator, tp: int) -> bool:
    from gemma_serve.planner.capacity import plan_at

    return plan_at(model, variant, device, tp).fits


def explain_misfit(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, plan: object
) -> str:
    """One line: what does not fit on what, and the nearest settings that would."""
    from gemma_serve.planner.capacity import CapacityPlan

    assert isinstance(plan, CapacityPlan)
    tp = plan.tensor_parallel_size
    where = f"{tp}x {device.name}" if not device.is_cpu else f"cpu (TP={tp})"
    name = f"gemma-3-{variant.name}"
    if device.is_cpu:
        need = _cpu_gib_needed(model, variant, tp)
        why = (
            f"{name} at max_model_len={model.max_model_len} does not fit on {where}: "
            f"engine.cpu_kv_cache_gib={model.engine.cpu_kv_cache_gib} holds "
            f"{plan.kv_capacity_tokens} tokens, less than one full-context sequence"
        )
        alt = [f"engine.cpu_kv_cache_gib >= {need}"]
        best = _longest_context(model, variant, device)
        if best:
            alt.append(f"max_model_len <= {best}")
        return f"{why}; would work: {' or '.join(alt)}"
    budget = int(model.engine.gpu_memory_utilization * device.memory_bytes)
    if plan.kv_cache_bytes <= 0:
        why = (
            f"{name} does not fit on {where}: {_gib(plan.weight_bytes + plan.vision_bytes)} "
            f"of weights + {_gib(plan.overhead_bytes)} runtime exceed the "
            f"{_gib(budget * tp)} vLLM may use "
            f"({model.engine.gpu_memory_utilization:g} x {_gib(device.memory_bytes)} x {tp})"
        )
    else:
        why = (
            f"{name} at max_model_len={model.max_model_len} does not fit on {where}: "
            f"{_gib(plan.kv_cache_bytes)} of KV cache hold {plan.kv_capacity_tokens} tokens, "
            "less than one full-context sequence"
        )
    return f"{why}; would work: {' or '.join(_alternatives(model, variant, device)) or 'nothing'}"


def _alternatives(model: ModelConfig, variant: Gemma3Variant, device: Accelerator) -> list[str]:
    out = []
    for tp in variant.legal_tp_sizes(_MAX_GPUS):
        trial = _with(model, accel=device.name, count=tp, tp=tp)
        if tp > model.hardware.count and _fits(trial, variant, device, tp):
            out.append(f"{tp}x {device.name} (--gpus {tp}, tensor_parallel_size={tp})")
            break
    for other in catalogue.builtin_accelerators().values():
        if other.is_cpu or other.memory_bytes <= device.memory_bytes:
            continue
        if _fits(_with(model, accel=other.name, count=1, tp=1), variant, other, 1):
            out.append(f"1x {other.name}")
            break
    best = _longest_context(model, variant, device)
    if best:
        out.append(f"max_model_len <= {best} on {model.hardware.count}x {device.name}")
    return out


def _longest_context(model: ModelConfig, variant: Gemma3Variant, device: Accelerator) -> int:
    """Largest multiple of 256 tokens that fits on the current hardware, or 0."""
    count = model.hardware.count
    tps = [t for t in variant.legal_tp_sizes() if t <= count] or [1]
    lo, hi, best = 1, model.max_model_len // 256, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        trial = _with(model, accel=device.name, count=count, max_model_len=mid * 256)
        if any(_fits(trial, variant, device, t) for t in tps):
            best, lo = mid * 256, mid + 1
        else:
            hi = mid - 1
    return best


def _cpu_gib_needed(model: ModelConfig, variant: Gemma3Variant, tp: int) -> int:
    """Whole GiB per rank holding one full-context sequence."""
    from gemma_serve.planner.engine_defaults import resolve_scheduler
    from gemma_serve.planner.kv import kv_layout
    from gemma_serve.planner.memory import kv_dtype_bytes

    sched = resolve_scheduler(model, catalogue.accelerator("cpu"), tp)
    layout = kv_layout(
        variant,
        tensor_parallel_size=tp,
        block_size=sched.block_size,
        kv_dtype_bytes=kv_dtype_bytes(model),
        max_model_len=model.max_model_len,
        in_flight_tokens=sched.in_flight_tokens,
    )
    need = layout.blocks_per_request * layout.bytes_per_block
    return math.ceil(need / GiB)
