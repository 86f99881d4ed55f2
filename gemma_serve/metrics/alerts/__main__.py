"""Write (or `--check`) rules.yaml and tests.yaml."""

from __future__ import annotations

import argparse
import sys

from gemma_serve.metrics.alerts import RULES_PATH, TESTS_PATH, render_rules, render_tests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gemma_serve.metrics.alerts")
    parser.add_argument("--check", action="store_true", help="fail if files differ")
    args = parser.parse_args(argv)
    stale = []
    for path, text in ((RULES_PATH, render_rules()), (TESTS_PATH, render_tests())):
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(
            "stale (run python -m gemma_serve.metrics.alerts):", *stale, sep="\n  ", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
