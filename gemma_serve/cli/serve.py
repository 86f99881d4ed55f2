"""`gemma-serve serve`: plan, then run the deployment on a local Ray cluster."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="Serve a deployment (default: Gemma 3 270M on CPU).")
    p.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("GEMMA_SERVE_CONFIG"),
        help="Deployment file (default: the embedded gemma-3-270m CPU config).",
    )
    p.add_argument("--host", default=None, help="Address to bind (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=None, help="API port (default 8000).")
    p.add_argument(
        "--address",
        default=None,
        help="Join this Ray cluster (`host:6379`, `auto`) instead of starting one here; the "
        "application is deployed there and removed on Ctrl-C (same as cluster.address).",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a config key, e.g. --set models.0.max_model_len=2048 (repeatable).",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gemma_serve.config.loader import EMBEDDED_270M, load_config
    from gemma_serve.models.prepare import prepare_embedded
    from gemma_serve.planner import plan_deployment
    from gemma_serve.serve.cores import local_facts
    from gemma_serve.serve.runtime import check_local_start, serve_forever, serve_on_cluster

    overrides = list(args.overrides)
    if args.host is not None:
        overrides.append(f"server.host={args.host}")
    if args.port is not None:
        overrides.append(f"server.port={args.port}")
    if args.address is not None:
        overrides.append(f"cluster.address={args.address}")
    config = load_config(args.config, overrides=overrides)
    if config.cluster.address:
        return serve_on_cluster(config)
    # Refuses what cannot work before anything starts.
    plan = plan_deployment(config, local_facts())
    check_local_start(plan, config.cluster)
    if any(m.source == EMBEDDED_270M for m in config.models):
        prepare_embedded()  # once here, with progress, rather than in each replica
    return serve_forever(plan, config.cluster)
