"""Grafana dashboards for gemma-serve, generated from Python and committed as JSON.

`python -m gemma_serve.metrics.dashboards` regenerates the JSON files beside
this module (`--out DIR` writes them elsewhere, e.g. into the Helm chart;
`--check` fails if the committed files are stale). Reading them needs only the
standard library; generating them needs grafana-foundation-sdk (dev extra).
"""

from __future__ import annotations

import json
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARD_DIR", "NAMES", "load_dashboards", "render_dashboards"]

#: One module and one JSON file per dashboard.
NAMES = ("overview", "engine", "capacity")
DASHBOARD_DIR = Path(__file__).parent


def render_dashboards() -> dict[str, str]:
    """Freshly generated JSON text of every dashboard, by name."""
    return {name: import_module(f"{__name__}.{name}").build().to_json() for name in NAMES}


def load_dashboards(directory: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """The committed dashboards, parsed, by name."""
    return {name: json.loads((directory / f"{name}.json").read_text()) for name in NAMES}
