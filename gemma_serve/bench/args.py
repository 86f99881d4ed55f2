"""From the `bench` subcommand's argparse namespace to specs, targets and launchers.

Kept out of the CLI module so that stays a thin argparse layer; every error is
a one-line `ConfigError`.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from gemma_serve.bench import flags
from gemma_serve.bench.datasets import ImageChat, SharedPrefixChat, SyntheticText
from gemma_serve.bench.launch import Launcher, SubprocessLauncher
from gemma_serve.bench.lengths import LengthDist
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.errors import ConfigError

#: Flags that shape the BenchSpec; they may not be mixed with `--spec FILE`.
_SPEC_FLAGS = (
    "api",
    "dataset",
    "input_len",
    "output_len",
    "input_dist",
    "output_dist",
    "input_spread",
    "output_spread",
    "num_prefixes",
    "system_prompt_len",
    "turns",
    "image_size",
    "images_per_request",
    "concurrency",
    "rate",
    "rate_kind",
    "burstiness",
    "burst",
    "max_concurrency",
    "num_prompts",
    "max_seconds",
    "warmup",
    "seed",
    "timeout",
    "slo",
    "extra_body",
    "no_ignore_eos",
    "same_prompts",
)


def _length(args: argparse.Namespace, which: str, default: int) -> LengthDist:
    value = getattr(args, f"{which}_len")
    return flags.length(
        f"--{which}-len",
        default if value is None else value,
        getattr(args, f"{which}_dist") or "fixed",
        getattr(args, f"{which}_spread"),
    )


def build_spec(args: argparse.Namespace) -> BenchSpec:
    """The BenchSpec from `--spec FILE` or from the individual flags."""
    given = [f for f in _SPEC_FLAGS if getattr(args, f, None) not in (None, False)]
    if args.spec is not None:
        if given:
            raise ConfigError(f"--spec cannot be combined with --{given[0].replace('_', '-')}")
        return flags.spec_file(args.spec)
    kind = args.dataset or "synthetic"
    out_len = _length(args, "output", 64)
    dataset: dict[str, Any] = {"output_len": out_len}
    if kind == "synthetic":
        dataset |= {"kind": "synthetic", "input_len": _length(args, "input", 100)}
        model: type[Any] = SyntheticText
    elif kind == "shared-prefix":
        dataset |= {"kind": "shared_prefix_chat", "user_len": _length(args, "input", 50)}
        for key in ("num_prefixes", "turns"):
            if getattr(args, key) is not None:
                dataset[key] = getattr(args, key)
        if args.system_prompt_len is not None:
            dataset["system_prompt_len"] = {"kind": "fixed", "value": args.system_prompt_len}
        model = SharedPrefixChat
    else:
        dataset |= {"kind": "image_chat", "input_len": _length(args, "input", 20)}
        if args.image_size:
            dataset["width"], dataset["height"] = flags.size(args.image_size)
        if args.images_per_request is not None:
            dataset["images_per_request"] = args.images_per_request
        model = ImageChat
    ds = flags.validated(model, dataset, f"--dataset {kind}")
    concurrency = flags.int_list("--concurrency", args.concurrency) if args.concurrency else []
    rates = flags.float_list("--rate", args.rate) if args.rate else []
    burst = flags.bursts(args.burst) if args.burst else []
    loads = flags.loads(
        concurrency or ([] if rates or burst else [1]),
        rates,
        args.rate_kind or "poisson",
        1.0 if args.burstiness is None else args.burstiness,
        burst,
        args.max_concurrency,
    )
    data: dict[str, Any] = {
        "dataset": ds,
        "loads": loads,
        "ignore_eos": not args.no_ignore_eos,
        "fresh_prompts": not args.same_prompts,
    }
    for flag, key in (
        ("api", "api"),
        ("num_prompts", "num_requests"),
        ("max_seconds", "max_seconds"),
        ("warmup", "warmup_requests"),
        ("seed", "seed"),
        ("timeout", "request_timeout_s"),
    ):
        if getattr(args, flag) is not None:
            data[key] = getattr(args, flag)
    if args.slo:
        data["slo"] = flags.slo(args.slo)
    if args.extra_body:
        data["extra_body"] = flags.json_object("--extra-body", args.extra_body)
    return flags.validated(BenchSpec, data)


def targets(args: argparse.Namespace) -> list[Target]:
    models = dict(flags.named("--target-model", t) for t in args.target_model)
    if args.side_by_side:
        pairs = [flags.named("--side-by-side", s) for s in args.side_by_side]
        out = []
        for name, url in pairs:
            model = models.pop(name, args.model)
            if model is None:
                raise ConfigError(f"--side-by-side {name}: give --model or --target-model")
            out.append(flags.validated(Target, {"name": name, "base_url": url, "model": model}))
        if models:
            raise ConfigError(f"--target-model for unknown target {sorted(models)[0]!r}")
        return out
    if args.base_url is None or args.model is None:
        raise ConfigError("--base-url and --model are required")
    data = {"name": args.name, "base_url": args.base_url, "model": args.model}
    return [flags.validated(Target, data, "--base-url")]


def launchers(args: argparse.Namespace, targets: list[Target]) -> dict[str, Launcher]:
    by_name = {t.name: t for t in targets}
    out: dict[str, Launcher] = {}
    for item in args.launch:
        name, command = flags.named("--launch", item)
        if name not in by_name:
            raise ConfigError(f"--launch {name}: no target of that name")
        argv = shlex.split(command)
        out[name] = SubprocessLauncher(
            argv=argv,
            health_url=by_name[name].base_url + "/health",
            startup_timeout_s=args.startup_timeout,
        )
    return out
