"""`gemma-serve plan`: will this Gemma 3 model fit, at which TP, with how much KV.

Either one model from flags (`--variant 27b --gpu h100-80gb ...`, quantized
checkpoints with `--quantization compressed-tensors --scheme W4A16`), every
model of a deployment file (`--config FILE`), or with `--fits` which GPU kinds
each weight format of a variant fits (the README's table). Prints a table
(rich) or JSON; anything that cannot work is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from gemma_serve import catalogue
from gemma_serve.config.loader import describe_validation_error, load_config
from gemma_serve.config.models import ModelConfig
from gemma_serve.errors import ConfigError, GemmaServeError
from gemma_serve.models.prepare import cache_root
from gemma_serve.planner import ModelPlan, fits, launch_on_node, plan_deployment, plan_model
from gemma_serve.serve.cores import local_facts, usable_cores

_GIB = 1024**3


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `plan` on the CLI's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="Check that a Gemma 3 model fits its hardware; show TP and KV capacity.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", metavar="FILE", help="Plan every model of this deployment file.")
    p.add_argument("--model", metavar="NAME", help="With --config: plan only this model.")
    p.add_argument("--variant", help=f"Gemma 3 size: {', '.join(catalogue.variant_names())}.")
    p.add_argument(
        "--gpu", default="cpu", help=f"Accelerator: {', '.join(catalogue.accelerator_names())}."
    )
    p.add_argument("--gpus", type=int, default=1, metavar="N", help="GPUs per replica.")
    p.add_argument("--tp", default="auto", metavar="N", help="Tensor-parallel size or `auto`.")
    p.add_argument("--max-model-len", type=int, default=4096, metavar="TOKENS")
    p.add_argument("--images", type=int, metavar="N", help="Max images per prompt (4b+).")
    p.add_argument("--dtype", default="bfloat16", help="bfloat16 (default) or float32.")
    p.add_argument("--kv-cache-dtype", default="auto", help="auto, fp8, fp8_e4m3, fp8_e5m2.")
    p.add_argument(
        "--quantization",
        metavar="METHOD",
        help=f"Checkpoint's vLLM --quantization: {', '.join(catalogue.quant_methods())}.",
    )
    p.add_argument(
        "--scheme", help=f"Its weight format: {', '.join(catalogue.quant_scheme_names())}."
    )
    p.add_argument("--group-size", type=int, metavar="N", help="Weights per scale group (128).")
    p.add_argument(
        "--fits",
        action="store_true",
        help="With --variant (or alone: every variant): TP and KV tokens for each weight "
        "format on each GPU kind, at --max-model-len.",
    )
    p.add_argument("--gpu-memory-utilization", type=float, metavar="F")
    p.add_argument("--cpu-kv-cache-gib", type=int, metavar="GIB", help="KV cache GiB on CPU.")
    p.add_argument("--max-num-seqs", type=int, metavar="N")
    p.add_argument("--max-num-batched-tokens", type=int, metavar="N")
    p.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Plan and print; 0 when everything fits, 2 with a one-line reason otherwise."""
    if args.fits:
        return _print_fits(args)
    try:
        plans = _plans(args)
    except GemmaServeError as exc:
        print(f"gemma-serve: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"models": [_json(p) for p in plans]}, indent=2))
    else:
        console = Console()
        for plan in plans:
            console.print(render(plan))
            for note in plan.capacity.notes:
                console.print(f"  - {note}", highlight=False)
    return 0


def _print_fits(args: argparse.Namespace) -> int:
    """The fits table of one variant (or all) at --max-model-len."""
    try:
        variants = [catalogue.variant(args.variant).name] if args.variant else None
    except GemmaServeError as exc:
        print(f"gemma-serve: error: {exc}", file=sys.stderr)
        return 2
    names = variants or catalogue.variant_names()
    gpus = catalogue.gpu_kinds()
    if args.json:
        rows = [
            {"variant": v, "weights": fmt, "gpus": {
                g: vars(fits.cell(v, g, fmt, args.max_model_len)) for g in gpus}}
            for v in names for fmt in fits.FORMATS
        ]  # fmt: skip
        print(json.dumps({"max_model_len": args.max_model_len, "fits": rows}, indent=2))
        return 0
    table = Table(title=f"TP x, KV tokens at max_model_len={args.max_model_len:,}")
    for column in ("variant", "weights", *gpus):
        table.add_column(column)
    for v in names:
        for fmt in fits.FORMATS:
            cells = [fits.cell(v, g, fmt, args.max_model_len).markdown() for g in gpus]
            table.add_row(v, fmt, *cells)
    Console().print(table)
    print("*: no FP8 tensor cores; vLLM runs the FP8 weights weight-only through Marlin")
    return 0


def _plans(args: argparse.Namespace) -> list[ModelPlan]:
    host = local_facts()
    if args.config and args.variant:
        raise ConfigError("give either --config FILE or --variant, not both")
    if not args.config:
        if not args.variant:
            raise ConfigError("give --variant (e.g. --variant 4b --gpu l4) or --config FILE")
        return [plan_model(_model_from_flags(args), host)]
    config = load_config(args.config)
    if args.model:
        try:
            config = config.model_copy(update={"models": [config.model(args.model)]})
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
    return plan_deployment(config, host).models


def _json(plan: ModelPlan) -> dict[str, Any]:
    """The plan, plus its launch on this host: the vLLM argv and engine env a replica runs."""
    cores = usable_cores()[: plan.cpu.cores] if plan.cpu else []
    launch = launch_on_node(plan, cores=cores, cache_root=cache_root())
    return {**plan.model_dump(mode="json"), "launch": launch.model_dump(mode="json")}


def _model_from_flags(args: argparse.Namespace) -> ModelConfig:
    variant = catalogue.variant(args.variant)
    accel = catalogue.accelerator(args.gpu)
    tp: int | str = args.tp
    if tp != "auto":
        try:
            tp = int(tp)
        except ValueError:
            raise ConfigError(f"--tp={args.tp}: must be an integer or `auto`") from None
    engine: dict[str, Any] = {"kv_cache_dtype": args.kv_cache_dtype}
    for key in ("gpu_memory_utilization", "cpu_kv_cache_gib", "max_num_seqs"):
        if getattr(args, key) is not None:
            engine[key] = getattr(args, key)
    if args.max_num_batched_tokens is not None:
        engine["max_num_batched_tokens"] = args.max_num_batched_tokens
    if args.quantization is not None:
        quant: dict[str, Any] = {"method": args.quantization, "scheme": args.scheme}
        if args.group_size is not None:
            quant["group_size"] = args.group_size
        engine["quantization"] = quant
    elif args.scheme is not None or args.group_size is not None:
        raise ConfigError("--scheme and --group-size describe a --quantization METHOD; give it")
    data: dict[str, Any] = {
        "name": f"gemma-3-{variant.name}",
        "variant": variant.name,
        "source": f"google/gemma-3-{variant.name}-it",
        "max_model_len": args.max_model_len,
        "dtype": {"bf16": "bfloat16", "fp32": "float32"}.get(args.dtype.lower(), args.dtype),
        "flavour": "it",
        "hardware": {"accelerator": accel.name, "count": args.gpus},
        "tensor_parallel_size": tp,
        "engine": engine,
    }
    if args.images is not None:
        data["multimodal"] = {"max_images_per_prompt": args.images}
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_flag_names(describe_validation_error(exc, data))) from None


def _flag_names(msg: str) -> str:
    """Name the flag, not the config key, in errors about flags."""
    for key, flag in (
        ("hardware.count", "--gpus"),
        ("tensor_parallel_size", "--tp"),
        ("engine.quantization.method", "--quantization"),
        ("engine.quantization", "--quantization"),
        ("max_model_len", "--max-model-len"),
        ("multimodal.max_images_per_prompt", "--images"),
    ):
        if msg.startswith(key):
            return flag + msg[len(key) :]
    return msg


def render(plan: ModelPlan) -> Table:
    """The plan as a two-column rich table (notes are printed after it)."""
    cap, sched = plan.capacity, plan.engine.scheduler
    device = plan.accelerator.name
    hw = f"cpu, {plan.cpu.cores} core(s)" if plan.cpu else f"{plan.tensor_parallel_size}x {device}"
    title = f"gemma-3-{plan.variant.name} on {hw}"
    if plan.name != f"gemma-3-{plan.variant.name}":
        title = f"{plan.name}: {title}"
    table = Table(title=title, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    local_mib = cap.kv_bytes_per_sequence_local / 1024**2
    rows = [
        ("tensor parallel size", str(plan.tensor_parallel_size)),
        ("max model len", f"{plan.max_model_len:,} tokens"),
        ("images per prompt", str(plan.images.per_prompt)),
        ("tools (tool call parser)", plan.tools.parser if plan.tools else "off"),
        ("engine", "eager" if plan.engine.enforce_eager else "compiled"),
        ("weights format", _format(plan)),
        ("KV cache dtype", plan.engine.kv_cache_dtype),
        ("weights (text)", _gib(cap.weight_bytes)),
        ("weights (vision)", _gib(cap.vision_bytes)),
        ("runtime + activations", _gib(cap.overhead_bytes)),
        ("  of which CUDA graphs", _gib(cap.cuda_graph_bytes)),
        ("KV cache", _gib(cap.kv_cache_bytes)),
        ("KV per token (global layers)", f"{cap.kv_bytes_per_token / 1024:,.0f} KiB"),
        ("KV per sequence (local layers)", f"{local_mib:,.1f} MiB"),
        ("KV capacity", f"{cap.kv_capacity_tokens:,} tokens"),
        ("full-context sequences at once", f"{cap.max_concurrent_full_context:,}"),
        ("block size / batched tokens", f"{sched.block_size} / {sched.max_num_batched_tokens:,}"),
        ("max num seqs", f"{sched.max_num_seqs:,}"),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


def _format(plan: ModelPlan) -> str:
    """`bf16`, or the scheme and the --quantization method vLLM loads it with."""
    if plan.engine.quantization is None:
        return plan.engine.weight_scheme
    return f"{plan.engine.weight_scheme} ({plan.engine.quantization})"


def _gib(n: int) -> str:
    return f"{n / _GIB:,.2f} GiB"
