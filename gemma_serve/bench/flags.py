"""Turning command-line strings into benchmark specs; every error is a `ConfigError`.

Pure functions, so the CLI stays a thin argparse layer and the parsing is tested.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gemma_serve.bench.lengths import FixedLength, LengthDist, NormalLength, UniformLength
from gemma_serve.bench.loads import BurstLoad, ConcurrentLoad, ConstantLoad, LoadSpec, PoissonLoad
from gemma_serve.bench.spec import BenchSpec, Slo
from gemma_serve.config.loader import describe_validation_error
from gemma_serve.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def int_list(flag: str, text: str) -> list[int]:
    """`1,2,4` -> [1, 2, 4]; every value positive."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected comma-separated integers") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{flag} {text!r}: expected positive integers")
    return values


def float_list(flag: str, text: str) -> list[float]:
    """`0.5,2` -> [0.5, 2.0]; every value positive."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected comma-separated numbers") from None
    if not values or any(not v > 0 for v in values):
        raise ConfigError(f"{flag} {text!r}: expected positive numbers")
    return values


def named(flag: str, text: str) -> tuple[str, str]:
    """`NAME=VALUE` -> (NAME, VALUE)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ConfigError(f"{flag} {text!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


def slo(text: str) -> Slo:
    """`ttft:500,tpot:50,e2el:2000` (milliseconds, as `vllm bench serve --goodput`)."""
    values: dict[str, float] = {}
    for item in text.split(","):
        key, sep, raw = item.partition(":")
        if key.strip() not in ("ttft", "tpot", "e2el") or not sep:
            raise ConfigError(f"--slo {item!r}: expected ttft:MS, tpot:MS or e2el:MS")
        try:
            values[f"{key.strip()}_ms"] = float(raw)
        except ValueError:
            raise ConfigError(f"--slo {item!r}: {raw!r} is not a number") from None
    return validated(Slo, values, "--slo")


def size(text: str) -> tuple[int, int]:
    """`224x160` -> (224, 160)."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise ConfigError(f"--image-size {text!r}: expected WIDTHxHEIGHT")
    return int(w), int(h)


def bursts(text: str) -> list[tuple[int, float]]:
    """`8@5,16@10` -> [(8, 5.0), (16, 10.0)]: SIZE requests every INTERVAL seconds."""
    out = []
    for item in text.split(","):
        n, sep, every = item.partition("@")
        try:
            out.append((int(n), float(every)))
        except ValueError:
            raise ConfigError(f"--burst {item!r}: expected SIZE@SECONDS") from None
        if not sep:
            raise ConfigError(f"--burst {item!r}: expected SIZE@SECONDS")
    return out


def length(flag: str, value: int, dist: str, spread: float | None) -> LengthDist:
    """A length distribution centred on `value`.

    uniform: `value +- spread` (default half of value); normal: std `spread`
    (default a quarter of value).
    """
    if dist == "fixed":
        return validated(FixedLength, {"value": value}, flag)
    if dist == "uniform":
        half = int(value // 2 if spread is None else spread)
        return validated(UniformLength, {"low": max(1, value - half), "high": value + half}, flag)
    if dist == "normal":
        std = value / 4 if spread is None else spread
        return validated(NormalLength, {"mean": value, "std": std}, flag)
    raise ConfigError(f"{flag}: unknown distribution {dist!r}")


def loads(
    concurrency: Sequence[int],
    rates: Sequence[float],
    rate_kind: str,
    burstiness: float,
    burst: Sequence[tuple[int, float]],
    max_concurrency: int | None,
) -> list[LoadSpec]:
    """The sweep: concurrency steps, then rate steps, then bursts."""
    out: list[LoadSpec] = [ConcurrentLoad(concurrency=c) for c in concurrency]
    for r in rates:
        if rate_kind == "constant":
            out.append(validated(ConstantLoad, {"rate": r, "max_concurrency": max_concurrency}))
        else:
            out.append(
                validated(
                    PoissonLoad,
                    {"rate": r, "burstiness": burstiness, "max_concurrency": max_concurrency},
                    "--burstiness",
                )
            )
    for n, every in burst:
        out.append(
            validated(
                BurstLoad,
                {"size": n, "interval_s": every, "max_concurrency": max_concurrency},
                "--burst",
            )
        )
    return out


def validated(cls: type[M], data: dict[str, Any], origin: str = "") -> M:
    """`cls.model_validate(data)` with a one-line ConfigError naming `origin`."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        prefix = f"{origin}: " if origin else ""
        raise ConfigError(prefix + describe_validation_error(exc, data)) from None


def json_object(flag: str, text: str) -> dict[str, Any]:
    """A JSON object from the command line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag}: not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag}: expected a JSON object")
    return value


def spec_file(path: Path) -> BenchSpec:
    """A BenchSpec from a YAML or JSON file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read spec {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"spec {path} is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ConfigError(f"spec {path} must be a mapping")
    return validated(BenchSpec, data, str(path))
