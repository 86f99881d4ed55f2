"""Copy the dashboards and alert rules of `gemma_serve.metrics` into the chart.

Helm's `.Files` only sees files inside the chart directory, so the chart keeps
copies under `files/`; the sources stay where the metrics code owns them, and
a test fails when the copies drift.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AssetLayout:
    """Where the sources live and where the chart reads them."""

    dashboards_src: Path
    alerts_src: Path
    dashboards_dst: Path
    alerts_dst: Path

    @classmethod
    def for_repo(cls, repo: Path) -> AssetLayout:
        """The layout of a gemma-serve checkout rooted at `repo`."""
        metrics = repo / "gemma_serve" / "metrics"
        files = repo / "helm" / "gemma-serve" / "files"
        return cls(
            dashboards_src=metrics / "dashboards",
            alerts_src=metrics / "alerts" / "rules.yaml",
            dashboards_dst=files / "dashboards",
            alerts_dst=files / "alerts" / "rules.yaml",
        )

    def sources_exist(self) -> bool:
        """Whether the metrics package ships dashboards and alert rules yet."""
        return self.alerts_src.is_file() and any(self.dashboards_src.glob("*.json"))


def diff(layout: AssetLayout) -> list[str]:
    """What `sync` would change, one line per file; empty when in sync."""
    changes: list[str] = []
    wanted = {p.name: p for p in sorted(layout.dashboards_src.glob("*.json"))}
    present = {p.name: p for p in sorted(layout.dashboards_dst.glob("*.json"))}
    for name in sorted(present.keys() - wanted.keys()):
        changes.append(f"remove {layout.dashboards_dst / name}")
    for name, src in wanted.items():
        dst = layout.dashboards_dst / name
        if name not in present:
            changes.append(f"add {dst}")
        elif dst.read_bytes() != src.read_bytes():
            changes.append(f"update {dst}")
    if layout.alerts_src.is_file():
        dst = layout.alerts_dst
        if not dst.is_file() or dst.read_bytes() != layout.alerts_src.read_bytes():
            changes.append(f"update {dst}")
    return changes


def sync(layout: AssetLayout) -> list[str]:
    """Make the chart copies equal the sources; returns what changed.

    Refuses (ValueError) while the sources do not exist, so the placeholders
    are never replaced by nothing.
    """
    if not layout.sources_exist():
        raise ValueError(
            f"nothing to sync: {layout.dashboards_src}/*.json and {layout.alerts_src} "
            "must both exist"
        )
    changes = diff(layout)
    layout.dashboards_dst.mkdir(parents=True, exist_ok=True)
    for stale in layout.dashboards_dst.glob("*.json"):
        if not (layout.dashboards_src / stale.name).is_file():
            stale.unlink()
    for src in layout.dashboards_src.glob("*.json"):
        shutil.copyfile(src, layout.dashboards_dst / src.name)
    layout.alerts_dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(layout.alerts_src, layout.alerts_dst)
    return changes
