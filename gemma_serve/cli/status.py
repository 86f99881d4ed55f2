"""`gemma-serve status`: the application's models, replicas per node, and their state."""

from __future__ import annotations

import argparse
import json
from collections import Counter

from rich.console import Console
from rich.table import Table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("status", help="Show models, replicas per node and their state.")
    p.add_argument(
        "--address",
        default="auto",
        help="Ray cluster to ask (`host:6379`; default `auto`: the one running on this machine).",
    )
    p.add_argument("--json", action="store_true", help="Print JSON instead of tables.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gemma_serve.serve import APP_NAME
    from gemma_serve.serve.status import app_status

    status = app_status(args.address, APP_NAME)
    if args.json:
        print(json.dumps(status.model_dump(mode="json"), indent=2))
        return 0
    console = Console()
    console.print(f"[bold]{APP_NAME}[/bold]: {status.status} {status.message}".rstrip())
    table = Table("deployment", "node", "replicas", "states")
    per_node: dict[tuple[str, str], Counter[str]] = {}
    for row in status.replicas:
        per_node.setdefault((row.deployment, f"{row.node_ip} ({row.node_id})"), Counter())[
            row.state
        ] += 1
    for (deployment, node), states in sorted(per_node.items()):
        summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        table.add_row(deployment, node, str(sum(states.values())), summary)
    console.print(table)
    return 0
