"""`python -m gemma_serve.k8s {schema,sync,check}`: maintain and check the Helm chart."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gemma_serve.errors import GemmaServeError
from gemma_serve.k8s.assets import AssetLayout, diff, sync
from gemma_serve.k8s.check import chart_dir, check_values, describe, merged_values
from gemma_serve.k8s.examples import sync_examples
from gemma_serve.k8s.schema import schema_json, write_schema


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; exit 1 when `--check` finds drift, 2 on invalid values."""
    parser = argparse.ArgumentParser(prog="python -m gemma_serve.k8s", description=__doc__)
    parser.add_argument(
        "--chart", type=Path, help="the chart directory (default: this checkout's helm/gemma-serve)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_schema = sub.add_parser("schema", help="regenerate helm/gemma-serve/values.schema.json")
    p_schema.add_argument("--check", action="store_true", help="only report drift")
    p_sync = sub.add_parser(
        "sync", help="copy metrics dashboards/alerts and configs/ profiles into the chart"
    )
    p_sync.add_argument("--check", action="store_true", help="only report drift")
    p_check = sub.add_parser("check", help="validate and plan values files (merged in order)")
    p_check.add_argument("values", nargs="+", type=Path, help="values files, as for helm -f")
    args = parser.parse_args(argv)

    try:
        chart = chart_dir(args.chart)
    except GemmaServeError as exc:
        print(f"gemma-serve: error: {exc}", file=sys.stderr)
        return 2
    if args.command == "schema":
        return _schema(chart, check=args.check)
    if args.command == "sync":
        return _sync(chart, check=args.check)
    values = merged_values(*args.values, chart=chart)
    try:
        plans = check_values(values, chart=chart)
    except GemmaServeError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(describe(plans))
    return 0


def _schema(chart: Path, *, check: bool) -> int:
    path = chart / "values.schema.json"
    if check:
        stale = not path.exists() or path.read_text() != schema_json()
        print(f"{path} is out of date" if stale else f"{path} is up to date")
        return 1 if stale else 0
    print(f"wrote {path}" if write_schema(chart) else f"{path} unchanged")
    return 0


def _sync(chart: Path, *, check: bool) -> int:
    repo = chart.parents[1]
    layout = AssetLayout.for_repo(repo)
    changes = sync_examples(repo / "configs", chart / "examples", write=not check)
    if not layout.sources_exist():
        print(f"dashboards/alerts: skipped, {layout.dashboards_src} or {layout.alerts_src} missing")
    elif check:
        changes += diff(layout)
    else:
        changes += sync(layout)
    print("\n".join(changes) or "chart copies are in sync")
    return 1 if check and changes else 0


if __name__ == "__main__":
    sys.exit(main())
