"""Choosing the tensor-parallel size that fits, and saying what would when nothing does.

Imports `capacity`, never the reverse: capacity is arithmetic, this is the search
over it (TP sizes, bigger GPUs, shorter contexts) and the one-line advice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator, Gemma3Variant
from gemma_serve.catalogue._hardware import GiB
from gemma_serve.config.models import ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner.capacity import CapacityPlan, capacity_at, layout_for
from gemma_serve.planner.scheduler import SchedulerSettings, resolve_scheduler

_MAX_GPUS = 16


@dataclass(frozen=True)
class Fit:
    """The TP the planner settled on, with the scheduler and capacity at that TP."""

    tensor_parallel_size: int
    scheduler: SchedulerSettings
    capacity: CapacityPlan


@dataclass(frozen=True)
class _Choices:
    """What `resolve` decided before fitting: images per prompt and compiled or eager."""

    images: int
    compiled: bool


def fit_model(
    model: ModelConfig,
    variant: Gemma3Variant,
    device: Accelerator,
    *,
    images: int,
    compiled: bool,
    cores: int,
) -> Fit:
    """The smallest legal TP at which one full-context sequence fits, or a PlanError.

    `cores`: CPU cores one replica binds (bounds TP on the CPU engine).
    """
    choices = _Choices(images, compiled)
    candidates = _tp_candidates(model, variant, device, cores)
    fits = [_fit_at(model, variant, device, tp, choices) for tp in candidates]
    for fit in fits:
        if fit.capacity.fits:
            return fit
    raise PlanError(explain_misfit(model, variant, device, fits[-1], choices))


def _fit_at(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, tp: int, choices: _Choices
) -> Fit:
    scheduler = resolve_scheduler(model, device, tp)
    capacity = capacity_at(
        model, variant, device, tp=tp, images=choices.images, scheduler=scheduler,
        compiled=choices.compiled,
    )  # fmt: skip
    return Fit(tp, scheduler, capacity)


def _tp_candidates(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, cores: int
) -> list[int]:
    tp = model.tensor_parallel_size
    count = model.hardware.count
    if isinstance(tp, int):
        catalogue.check_tensor_parallel(variant, tp)
        if device.is_cpu and tp > cores:
            raise PlanError(
                f"tensor_parallel_size={tp} needs {tp} CPU cores (one per rank), "
                f"the replica binds {cores} (hardware.cpu_cores)"
            )
        if not device.is_cpu and tp > count:
            raise PlanError(
                f"tensor_parallel_size={tp} needs {tp} GPUs per replica but "
                f"hardware.count={count}; set hardware.count >= {tp}"
            )
        return [tp]
    if device.is_cpu:
        return [1]
    legal = [t for t in variant.legal_tp_sizes() if t <= count]
    return legal or [1]


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB"


def _with(
    model: ModelConfig, *, accel: str, count: int, tp: int | None = None, length: int | None = None
) -> ModelConfig:
    hw = model.hardware.model_copy(update={"accelerator": accel, "count": count})
    update: dict[str, object] = {"hardware": hw, "tensor_parallel_size": tp or "auto"}
    if length is not None:
        update["max_model_len"] = length
    return model.model_copy(update=update)


def _fits(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, tp: int, choices: _Choices
) -> bool:
    return _fit_at(model, variant, device, tp, choices).capacity.fits


def explain_misfit(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, fit: Fit, choices: _Choices
) -> str:
    """One line: what does not fit on what, and the nearest settings that would."""
    plan, tp = fit.capacity, fit.tensor_parallel_size
    where = f"{tp}x {device.name}" if not device.is_cpu else f"cpu (TP={tp})"
    name = f"gemma-3-{variant.name}"
    if device.is_cpu:
        layout = layout_for(model, variant, tp, fit.scheduler)
        need = math.ceil(layout.blocks_per_request * layout.bytes_per_block / GiB)
        why = (
            f"{name} at max_model_len={model.max_model_len} does not fit on {where}: "
            f"engine.cpu_kv_cache_gib={model.engine.cpu_kv_cache_gib} holds "
            f"{plan.kv_capacity_tokens} tokens, less than one full-context sequence"
        )
        alt = [f"engine.cpu_kv_cache_gib >= {need}"]
        best = _longest_context(model, variant, device, choices)
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
    alternatives = _alternatives(model, variant, device, choices)
    return f"{why}; would work: {' or '.join(alternatives) or 'nothing'}"


def _alternatives(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, choices: _Choices
) -> list[str]:
    out = []
    for tp in variant.legal_tp_sizes(_MAX_GPUS):
        trial = _with(model, accel=device.name, count=tp, tp=tp)
        if tp > model.hardware.count and _fits(trial, variant, device, tp, choices):
            out.append(f"{tp}x {device.name} (--gpus {tp}, tensor_parallel_size={tp})")
            break
    for other in catalogue.builtin_accelerators().values():
        if other.is_cpu or other.memory_bytes <= device.memory_bytes:
            continue
        if _fits(_with(model, accel=other.name, count=1, tp=1), variant, other, 1, choices):
            out.append(f"1x {other.name}")
            break
    best = _longest_context(model, variant, device, choices)
    if best:
        out.append(f"max_model_len <= {best} on {model.hardware.count}x {device.name}")
    return out


def _longest_context(
    model: ModelConfig, variant: Gemma3Variant, device: Accelerator, choices: _Choices
) -> int:
    """Largest multiple of 256 tokens that fits on the current hardware, or 0."""
    count = model.hardware.count
    tps = [t for t in variant.legal_tp_sizes() if t <= count] or [1]
    lo, hi, best = 1, model.max_model_len // 256, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        trial = _with(model, accel=device.name, count=count, length=mid * 256)
        if any(_fits(trial, variant, device, t, choices) for t in tps):
            best, lo = mid * 256, mid + 1
        else:
            hi = mid - 1
    return best
