"""`gemma-serve`: serve, plan, prepare models, benchmark.

Every expected failure is one line on stderr naming the problem, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gemma_serve import __version__
from gemma_serve.errors import GemmaServeError

#: Subcommands living in their own modules: each has add_parser(subparsers) and run(args).
_SUBCOMMANDS = ("serve", "status", "models", "plan", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gemma-serve", description="Serve Google's Gemma 3 on Ray Serve + vLLM."
    )
    parser.add_argument("--version", action="version", version=f"gemma-serve {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(f"gemma_serve.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gemma_serve.cli.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
    except GemmaServeError as exc:
        print(f"gemma-serve: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
