"""What the deployment files ask of Prometheus: every dashboard query and alert expression.

Shared by the manifest checks (static) and the real-Prometheus test. The splitter is a
small scanner, not a PromQL parser: it finds the top-level `and`/`unless` operands of an
alert expression and, in each, the top-level comparison, which is all the rules need.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "quorum.json"
RULES_DIR = DEPLOY / "prometheus" / "rules"

# Grafana's built-in and template variables, replaced by values that select everything.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "${panel:regex}": ".*",
    "${app:regex}": ".*",
    "${panel}": ".*",
    "${app}": ".*",
    "$panel": ".*",
    "$app": ".*",
    "${profile:regex}": ".*",
    "${profile}": ".*",
    "$profile": ".*",
}

_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")
_SET_OPERATOR = re.compile(r"\b(and|unless)\b")
_MODIFIER = re.compile(
    r"^\s*(bool\s+)?((on|ignoring)\s*\([^)]*\)\s*)?((group_left|group_right)\b(\s*\([^)]*\))?\s*)?"
)


@dataclass(frozen=True)
class Query:
    """One PromQL expression and where it comes from."""

    where: str
    expr: str


def substitute(expr: str) -> str:
    """Replace Grafana variables with concrete values (longest names first)."""
    for name in sorted(SUBSTITUTIONS, key=len, reverse=True):
        expr = expr.replace(name, SUBSTITUTIONS[name])
    return expr


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in panels:
        out.append(p)
        out.extend(_panels(p.get("panels", [])))  # collapsed rows nest their panels
    return out


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that shows data (rows excluded)."""
    return [p for p in _panels(dashboard["panels"]) if p.get("type") != "row"]


def dashboard_queries(dashboard: dict[str, Any]) -> list[Query]:
    """Every panel target's expression, variables substituted."""
    return [
        Query(f"dashboard panel {p['title']!r} target {t.get('refId')}", substitute(t["expr"]))
        for p in dashboard_panels(dashboard)
        for t in p.get("targets", [])
    ]


def variable_queries(dashboard: dict[str, Any]) -> list[Query]:
    """Template variables' `label_values(selector, label)` as `count by (label) (selector)`."""
    out = []
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q)
        if m is None:
            raise ValueError(f"variable {v['name']}: unsupported query {q!r}")
        out.append(Query(f"variable {v['name']}", substitute(f"count by ({m[2]}) ({m[1]})")))
    return out


def alert_rules() -> list[dict[str, Any]]:
    """Every rule of every group of every rules file, with its file name under `_file`."""
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                rules.append({**rule, "_file": path.name, "_group": group["name"]})
    return rules


def _top_level(expr: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """Matches of `pattern` outside (), {}, [] and string literals."""
    depth, quote, found, i = 0, "", [], 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            m = pattern.match(expr, i)
            if m and (pattern is not _SET_OPERATOR or m.start() == i):
                found.append(m)
                i = m.end()
                continue
        i += 1
    return found


def _split(expr: str, matches: list[re.Match[str]]) -> list[str]:
    parts, start = [], 0
    for m in matches:
        parts.append(expr[start : m.start()])
        start = m.end()
    parts.append(expr[start:])
    return [_MODIFIER.sub("", p, count=1).strip() for p in parts]


@dataclass(frozen=True)
class Condition:
    """One operand of an alert's top-level `and`/`unless`: `signal OP threshold`."""

    signal: str
    """What is measured: must return series once Quorum has served traffic."""
    threshold: str | None
    """What it is compared with: must parse (it may look back a day, so may be empty)."""


def conditions(expr: str) -> list[Condition]:
    """Split an alert expression into its conditions."""
    out = []
    for part in _split(expr, _top_level(expr, _SET_OPERATOR)):
        comparisons = _top_level(part, _COMPARISON)
        if len(comparisons) > 1:
            raise ValueError(f"more than one top-level comparison in {part!r}")
        if comparisons:
            signal, threshold = _split(part, comparisons)
            out.append(Condition(signal, threshold))
        else:
            out.append(Condition(part, None))
    return out
