"""Every PromQL expression the dashboards and rules contain, ready to run against Prometheus.

Grafana variables are expanded the way a viewer with "All" selected would see
them. An alert expression returns nothing while it is not firing, so for each
alert the quantities it compares (`signals`: the left side of every top-level
comparison) are what must return data; the whole expression must only parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gemma_serve.metrics.alerts import RULES_PATH, load_rule_groups
from gemma_serve.metrics.dashboards import load_dashboards

__all__ = [
    "DEFAULT_VARIABLES",
    "PromQuery",
    "all_queries",
    "dashboard_queries",
    "expand_variables",
    "metric_names",
    "rule_queries",
    "signals",
]

#: Values for Grafana's variables: all models, windows that cover a short test load.
DEFAULT_VARIABLES: Mapping[str, str] = {
    "model": ".*",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
}
#: `$name` / `${name}` / `${name:format}`; `$1` (a label_replace group) is not a variable.
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$([A-Za-z_]\w*)")
_LABEL_VALUES = re.compile(r"^label_values\((.+),\s*(\w+)\)$")
_COMPARISON = (">=", "<=", "==", "!=", ">", "<")
_SET_OPERATOR = re.compile(r"\b(and|or|unless)\b")
_MATCHING = re.compile(r"^(on|ignoring)\s*\([^)]*\)\s*")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
)


@dataclass(frozen=True)
class PromQuery:
    """One expression to evaluate; `source` says where it came from, for failure messages."""

    source: str
    expr: str
    #: False for expressions that are empty by design (an alert that is not firing).
    expect_data: bool = True


def expand_variables(expr: str, values: Mapping[str, str] = DEFAULT_VARIABLES) -> str:
    """Replace `$name` and `${name}` / `${name:format}`; an unknown variable raises KeyError."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for Grafana variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(value, expr)


def dashboard_queries(
    dashboards: Mapping[str, Mapping[str, Any]] | None = None,
    values: Mapping[str, str] = DEFAULT_VARIABLES,
) -> list[PromQuery]:
    """Every panel target, plus a `count by` for each `label_values()` variable query."""
    found = []
    for name, board in (dashboards if dashboards is not None else load_dashboards()).items():
        for variable in board.get("templating", {}).get("list", []):
            match = _LABEL_VALUES.match(str(variable.get("query", "")))
            if variable.get("type") == "query" and match:
                metric, label = match.groups()
                found.append(
                    PromQuery(
                        f"{name} variable ${variable['name']}", f"count by ({label}) ({metric})"
                    )
                )
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    source = f"{name} / {panel.get('title')} / {target.get('refId')}"
                    found.append(PromQuery(source, expand_variables(target["expr"], values)))
    return found


def _panels(panels: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows nest their panels


def rule_queries(path: Path = RULES_PATH) -> list[PromQuery]:
    """Recording rules must return data; alerts must parse and their signals return data."""
    found = []
    for group in load_rule_groups(path):
        for rule in group["rules"]:
            if "record" in rule:
                found.append(PromQuery(f"record {rule['record']}", rule["expr"]))
                continue
            name = rule["alert"]
            found.append(PromQuery(f"alert {name}", rule["expr"], expect_data=False))
            for index, signal in enumerate(signals(rule["expr"])):
                found.append(PromQuery(f"alert {name} signal {index}", signal))
    return found


def all_queries(values: Mapping[str, str] = DEFAULT_VARIABLES) -> list[PromQuery]:
    return dashboard_queries(values=values) + rule_queries()


def signals(expr: str) -> list[str]:
    """The left operand of each top-level comparison, across top-level and/or/unless."""
    found = []
    for part in _split_top_level(expr):
        part = _strip_parens(part)
        cut = _top_level_comparison(part)
        if cut is not None:
            found.append(_strip_parens(part[:cut]))
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (identifiers that are not functions or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)  # matchers, ranges
    text = _GROUPING.sub(" ", text)  # by (...), on (...), ...
    return {name for name in _IDENTIFIER.findall(text) if name not in _KEYWORDS}


def _scan(expr: str) -> Iterable[tuple[int, int]]:
    """(index, nesting depth) of every character outside string literals."""
    depth, quote, escaped = 0, "", False
    for index, char in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        else:
            yield index, depth


def _split_top_level(expr: str) -> list[str]:
    cuts, start = [], 0
    depths = dict(_scan(expr))
    for match in _SET_OPERATOR.finditer(expr):
        if depths.get(match.start()) == 0:
            cuts.append(expr[start : match.start()])
            start = match.end()
    cuts.append(expr[start:])
    # The right operand of `unless on (model) ...` starts with its vector matching.
    return [_MATCHING.sub("", c.strip(), count=1) for c in cuts if c.strip()]


def _top_level_comparison(expr: str) -> int | None:
    for index, depth in _scan(expr):
        if depth == 0:
            for op in _COMPARISON:
                if expr.startswith(op, index):
                    return index
    return None


def _strip_parens(expr: str) -> str:
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth_zero_inside = any(d == 0 for i, d in _scan(expr) if 0 < i < len(expr) - 1)
        if depth_zero_inside:
            break
        expr = expr[1:-1].strip()
    return expr
