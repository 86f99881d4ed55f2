"""A vLLM OpenAI-server argv as keyword arguments, read by vLLM's own parser.

Ray Serve LLM takes vLLM's settings as `engine_kwargs` (split by Ray into
`AsyncEngineArgs` and the OpenAI frontend's `FrontendArgs`), not as an argv.
Parsing with `vllm.entrypoints.launchers.cli_args.make_arg_parser` gives each
flag its destination and type exactly as `vllm serve` would; only the flags
the argv names are kept, so both servers see the same explicit settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from gemma_serve.bench.errors import BenchError

_PLAIN = (str, int, float, bool, type(None))


def _plain(flag: str, value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, _PLAIN) for v in value):
        return list(value)
    if isinstance(value, dict):
        return {str(k): _plain(flag, v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A JSON-valued flag (e.g. --structured-outputs-config): the fields it set, as
        # the dict vLLM's config validation turns back into the dataclass.
        default = type(value)()
        return {f.name: _plain(flag, getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) != getattr(default, f.name)}  # fmt: skip
    raise BenchError(f"vLLM flag {flag}: cannot pass a {type(value).__name__} on to Ray Serve LLM")


def parse_vllm_argv(argv: Sequence[str]) -> dict[str, Any]:
    """{destination: parsed value} for every flag in `argv`, in argv order."""
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = make_arg_parser(FlexibleArgumentParser())
    try:
        namespace = parser.parse_args(list(argv))
    except SystemExit:
        raise BenchError(f"vLLM's parser rejects the argv {' '.join(argv)}") from None
    actions = parser._option_string_actions  # argparse has no public lookup
    out: dict[str, Any] = {}
    for token in argv:
        flag = token.split("=", 1)[0]
        if not flag.startswith("-") or flag not in actions:
            continue
        dest = actions[flag].dest
        out[dest] = _plain(flag, getattr(namespace, dest))
    return out
