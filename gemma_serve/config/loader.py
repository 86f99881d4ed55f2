"""Layered loading: built-in defaults < file < environment < CLI flags.

Every layer is a plain mapping merged into the next; the result is validated
once, and any error names the key, the value given and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gemma_serve.config.models import DeploymentConfig, ModelConfig
from gemma_serve.errors import ConfigError

ENV_PREFIX = "GEMMA_SERVE_"
#: Environment variables that start with the prefix but are not overrides.
_NOT_OVERRIDES = {"GEMMA_SERVE_API_KEYS", "GEMMA_SERVE_CACHE", "GEMMA_SERVE_CONFIG"}

EMBEDDED_270M = "embedded:gemma-3-270m"


def default_config() -> DeploymentConfig:
    """The embedded default: Gemma 3 270M (pretrained) on this machine's CPU."""
    return DeploymentConfig(
        models=[
            ModelConfig(
                name="gemma-3-270m",
                variant="270m",
                flavour="pt",
                source=EMBEDDED_270M,
                max_model_len=4096,
            )
        ]
    )


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
) -> DeploymentConfig:
    """Load a deployment: the file (or the embedded default), then env, then `key=value`s."""
    data: dict[str, Any]
    if path is None:
        data = default_config().model_dump(mode="json", exclude_unset=True)
    else:
        data = read_yaml(Path(path))
    env = os.environ if env is None else env
    for key, value in sorted(env.items()):
        if key.startswith(ENV_PREFIX) and key not in _NOT_OVERRIDES:
            dotted = key[len(ENV_PREFIX) :].lower().replace("__", ".")
            _set_path(data, dotted, yaml.safe_load(value), origin=key)
    for item in overrides:
        dotted, sep, raw = item.partition("=")
        if not sep or not dotted:
            raise ConfigError(f"override {item!r} is not of the form key.path=value")
        _set_path(data, dotted.strip(), yaml.safe_load(raw), origin=f"--set {item}")
    return validate_config(data)


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from `path`, or a ConfigError that says what is wrong."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"config {path} must be a mapping with a `models` list")
    return loaded


def validate_config(data: Mapping[str, Any]) -> DeploymentConfig:
    """Validate a mapping into a DeploymentConfig, with a one-line error."""
    try:
        return DeploymentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, data)) from None


def describe_validation_error(exc: ValidationError, data: Any) -> str:
    """`key.path=value: problem (allowed: ...)` for the first error, plus a count."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "literal_error":
        expected = (first.get("ctx") or {}).get("expected", "")
        msg = f"not allowed (allowed: {expected})"
    elif first["type"] == "missing":
        msg = "required key is missing"
    value = first.get("input")
    shown = "" if first["type"] in ("missing", "extra_forbidden") else f"={value!r}"
    if isinstance(value, dict):
        shown = ""
    more = len(exc.errors()) - 1
    tail = f" (and {more} more)" if more else ""
    return f"{loc or 'config'}{shown}: {msg}{tail}"


def _set_path(data: dict[str, Any], dotted: str, value: Any, *, origin: str) -> None:
    """Set `a.b.0.c` in nested dicts/lists, creating mappings as needed."""
    parts = dotted.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{origin}: {'.'.join(parts[: i + 1])} is not a list index")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"{origin}: {'.'.join(parts[:i])} is not a mapping")
