"""The chart's dashboards and alert rules are copies of gemma_serve.metrics' own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gemma_serve.k8s import AssetLayout, chart_dir, diff, sync

LAYOUT = AssetLayout.for_repo(chart_dir().parents[1])


def test_chart_copies_equal_the_sources() -> None:
    if not LAYOUT.sources_exist():
        pytest.skip(
            f"{LAYOUT.dashboards_src}/*.json or {LAYOUT.alerts_src} does not exist yet; "
            "the chart ships placeholders until then"
        )
    assert diff(LAYOUT) == [], "run: python -m gemma_serve.k8s sync"
    assert not (LAYOUT.dashboards_dst / "placeholder.json").exists()


def test_chart_copies_are_valid() -> None:
    import json

    dashboards = sorted(LAYOUT.dashboards_dst.glob("*.json"))
    assert dashboards
    for path in dashboards:
        assert json.loads(path.read_text())["title"], path
    rules = yaml.safe_load(LAYOUT.alerts_dst.read_text())
    assert isinstance(rules["groups"], list)


def _layout(tmp: Path) -> AssetLayout:
    return AssetLayout(
        dashboards_src=tmp / "src" / "dashboards",
        alerts_src=tmp / "src" / "rules.yaml",
        dashboards_dst=tmp / "chart" / "dashboards",
        alerts_dst=tmp / "chart" / "rules.yaml",
    )


def test_sync_mirrors_the_sources(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    with pytest.raises(ValueError, match="nothing to sync"):
        sync(layout)
    layout.dashboards_src.mkdir(parents=True)
    layout.dashboards_dst.mkdir(parents=True)
    (layout.dashboards_src / "a.json").write_text('{"title": "a"}')
    (layout.dashboards_dst / "placeholder.json").write_text("{}")
    layout.alerts_src.write_text("groups: []\n")
    assert sorted(diff(layout)) == sorted(
        [
            f"remove {layout.dashboards_dst / 'placeholder.json'}",
            f"add {layout.dashboards_dst / 'a.json'}",
            f"update {layout.alerts_dst}",
        ]
    )
    sync(layout)
    assert diff(layout) == []
    assert [p.name for p in layout.dashboards_dst.iterdir()] == ["a.json"]
    (layout.dashboards_src / "a.json").write_text('{"title": "b"}')
    assert diff(layout) == [f"update {layout.dashboards_dst / 'a.json'}"]
