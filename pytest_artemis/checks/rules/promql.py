"""PromQL helpers shared by the rule and dashboard gates: parsing and the series an expression reads.

Built on ``promql-parser``; its errors become :class:`~pytest_artemis.errors.RuleError`. Grafana's
template variables (``$__rate_interval``, ``$job``, ``${pool}``, ``[[var]]``) are replaced by neutral
values before a dashboard query is parsed.
"""

from __future__ import annotations

import re

import promql_parser

from pytest_artemis.errors import RuleError

__all__ = ["RANGE_VARIABLES", "expand_grafana_variables", "parse", "series_names"]

#: Grafana's built-in interval variables and the duration that stands in for them.
RANGE_VARIABLES: dict[str, str] = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__interval_ms": "60000",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")


def expand_grafana_variables(expr: str) -> str:
    """Replace Grafana template variables by values that keep the query parseable.

    Interval variables become durations; any other variable becomes ``.*`` inside a quoted
    matcher value and ``var`` elsewhere.
    """

    def substitute(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in RANGE_VARIABLES:
            return RANGE_VARIABLES[name]
        before = expr[: match.start()]
        inside_string = before.count('"') % 2 == 1
        return ".*" if inside_string else "var"

    return _VARIABLE.sub(substitute, expr)


def parse(expr: str) -> promql_parser.Expr:
    """Parse PromQL; RuleError with the parser's reason when it is not valid."""
    try:
        return promql_parser.parse(expr)
    except (ValueError, TypeError) as err:
        raise RuleError(str(err) or "not valid PromQL") from err


def series_names(expr: str | promql_parser.Expr) -> set[str]:
    """Metric names an expression selects (``foo{}`` and ``{__name__="foo"}`` alike; regex names skipped)."""
    tree = parse(expr) if isinstance(expr, str) else expr
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            else:
                for matcher in node.matchers.matchers:
                    if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
                        names.add(matcher.value)

    promql_parser.walk(tree, visit)
    return names
