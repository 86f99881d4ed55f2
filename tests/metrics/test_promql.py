"""Extracting and preparing the PromQL of dashboards and rules."""

from __future__ import annotations

import pytest

from tests.metrics.prom.promql import (
    dashboard_queries,
    expand_variables,
    metric_names,
    rule_queries,
    signals,
)


def test_expand_variables() -> None:
    expr = 'rate(x{model=~"$model"}[$__rate_interval]) + y{m="${model:regex}"}'
    assert expand_variables(expr) == 'rate(x{model=~".*"}[1m]) + y{m=".*"}'
    assert expand_variables("x[$__rate_interval]", {"__rate_interval": "5s"}) == "x[5s]"
    with pytest.raises(KeyError, match=r"\$cluster"):
        expand_variables('x{c="$cluster"}')
    # label_replace's capture groups are not Grafana variables
    assert expand_variables('label_replace(x, "m", "$1", "d", "model-(.+)")') == (
        'label_replace(x, "m", "$1", "d", "model-(.+)")'
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("a > 1", ["a"]),
        ("sum by (m) (rate(a[5m])) / sum by (m) (rate(b[5m])) > 0.05",
         ["sum by (m) (rate(a[5m])) / sum by (m) (rate(b[5m]))"]),
        ("a > 1 and deriv(a[10m]) > 0", ["a", "deriv(a[10m])"]),
        ("(a >= 1) or (b{c!=\"d\", e=~\"f|g\"} < 2)", ["a", 'b{c!="d", e=~"f|g"}']),
        ('x{l="a > b and c"} == 0', ['x{l="a > b and c"}']),
        ("absent(a)", []),
        ("sum by (m) (a) > 0 unless on (m) sum by (m) (b) >= 1",
         ["sum by (m) (a)", "sum by (m) (b)"]),  # the operand after its vector matching
    ],
)  # fmt: skip
def test_signals(expr: str, expected: list[str]) -> None:
    assert signals(expr) == expected


def test_metric_names() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (model, le) (rate(a_bucket{model=~"$model"}[1m]))) '
        '/ on (model) group_left b + sum(label_replace(vllm:c, "m", "$1", "n", "(.+)")) '
        "or d:e:f offset 5m"
    )
    assert metric_names(expr) == {"a_bucket", "b", "vllm:c", "d:e:f"}


def test_dashboard_queries_cover_every_target_and_variable() -> None:
    queries = dashboard_queries()
    assert len([q for q in queries if "variable" in q.source]) == 3
    assert len(queries) >= 55
    assert all("$" not in q.expr.replace('"$1"', "") for q in queries)
    assert all(q.expect_data for q in queries)


def test_rule_queries_split_alerts_into_expression_and_signals() -> None:
    queries = rule_queries()
    alerts = [q for q in queries if not q.expect_data]
    assert len(alerts) == 7 and all(q.source.startswith("alert ") for q in alerts)
    for alert in alerts:
        assert any(q.source.startswith(alert.source + " signal") for q in queries)
    assert sum(q.source.startswith("record ") for q in queries) == 5
