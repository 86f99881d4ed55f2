"""Thin helpers over grafana-foundation-sdk so each dashboard module reads as a list of panels.

Every dashboard gets a Prometheus data-source variable (so it imports into any
Grafana by hand) and a multi-select `model` variable; every panel gets a stable
id and every query a refId, so regenerated JSON only changes when a panel does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import common as gcommon
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus as gprom
from grafana_foundation_sdk.builders import stat as gstat
from grafana_foundation_sdk.builders import timeseries as gts
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

#: (PromQL, legend) for one query of a panel.
Query = tuple[str, str]

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
#: Label matchers selecting the dashboard's models on our series and on vLLM's.
EDGE = 'model=~"$model"'
VLLM = 'model_name=~"$model"'
QUANTILES = (0.5, 0.95, 0.99)


class Board:
    """A dashboard under construction; panels are numbered in insertion order."""

    def __init__(self, *, uid: str, title: str, description: str, model_query: str) -> None:
        self._next_id = 1
        self.builder = (
            gdash.Dashboard(title)
            .uid(uid)
            .description(description)
            .tags(["gemma-serve", "llm"])
            .editable()
            .refresh("10s")
            .time("now-1h", "now")
            .timezone("browser")
            .tooltip(dm.DashboardCursorSync.CROSSHAIR)
            .with_variable(
                gdash.DatasourceVariable("datasource").label("Data source").type("prometheus")
            )
            .with_variable(
                gdash.QueryVariable("model")
                .label("Model")
                .datasource(DATASOURCE)
                .query(model_query)
                .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(dm.VariableSort.ALPHABETICAL_ASC)
                .multi(True)
                .include_all(True)
                .all_value(".*")
            )
            .link(
                gdash.DashboardLink("gemma-serve")
                .type(dm.DashboardLinkType.DASHBOARDS)
                .tags(["gemma-serve"])
                .as_dropdown(True)
                .include_vars(True)
                .keep_time(True)
            )
        )

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def row(self, title: str) -> None:
        self.builder.with_row(gdash.Row(title).id(self._id()))

    def timeseries(
        self,
        title: str,
        description: str,
        queries: Sequence[Query],
        *,
        unit: str,
        width: int = 12,
        max_value: float | None = None,
    ) -> None:
        panel = (
            gts.Panel()
            .id(self._id())
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .unit(unit)
            .min(0)
            .span(width)
            .height(8)
            .line_width(1)
            .fill_opacity(10)
            .show_points(cm.VisibilityMode.NEVER)
            .legend(
                gcommon.VizLegendOptions()
                .display_mode(cm.LegendDisplayMode.LIST)
                .placement(cm.LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs([])
            )
            .tooltip(
                gcommon.VizTooltipOptions()
                .mode(cm.TooltipDisplayMode.MULTI)
                .sort(cm.SortOrder.DESCENDING)
            )
        )
        if max_value is not None:
            panel.max(max_value)
        _add_targets(panel, queries)
        self.builder.with_panel(panel)

    def stat(self, title: str, description: str, query: Query, *, unit: str) -> None:
        panel = (
            gstat.Panel()
            .id(self._id())
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .unit(unit)
            .span(6)
            .height(4)
            .graph_mode(cm.BigValueGraphMode.AREA)
            .color_mode(cm.BigValueColorMode.VALUE)
            .reduce_options(gcommon.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        )
        _add_targets(panel, [query])
        self.builder.with_panel(panel)

    def to_json(self) -> str:
        """Stable, diff-friendly JSON for committing and for the Helm chart."""
        model: Any = self.builder.build()
        return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def _add_targets(panel: gts.Panel | gstat.Panel, queries: Sequence[Query]) -> None:
    for index, (expr, legend) in enumerate(queries):
        panel.with_target(
            gprom.Dataquery()
            .expr(expr)
            .legend_format(legend)
            .ref_id(chr(ord("A") + index))
            .range()
            .datasource(DATASOURCE)
        )


def quantiles(histogram: str, selector: str, by: str, legend: str) -> list[Query]:
    """p50/p95/p99 of a classic histogram, aggregated `by` a label."""
    return [
        (
            f"histogram_quantile({q}, sum by ({by}, le) "
            f"(rate({histogram}_bucket{{{selector}}}[{RATE}])))",
            f"p{round(q * 100)} {legend}",
        )
        for q in QUANTILES
    ]


def rate(metric: str, selector: str, by: str) -> str:
    """Per-second rate of a counter, summed `by` labels."""
    return f"sum by ({by}) (rate({metric}{{{selector}}}[{RATE}]))"
