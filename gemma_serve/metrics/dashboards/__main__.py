"""Write (or `--check`) the generated dashboard JSON files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gemma_serve.metrics.dashboards import DASHBOARD_DIR, render_dashboards


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gemma_serve.metrics.dashboards")
    parser.add_argument("--out", type=Path, default=DASHBOARD_DIR, help="target directory")
    parser.add_argument("--check", action="store_true", help="fail if files differ")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render_dashboards().items():
        path = args.out / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if stale:
        print(
            "stale dashboards (run python -m gemma_serve.metrics.dashboards):",
            *stale,
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
