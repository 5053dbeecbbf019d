"""PromQL helpers shared by the rule and dashboard gates: parsing and the series an expression reads.

Built on ``promql-parser``; its errors become :class:`~pytest_artemis.errors.RuleError`. Grafana's
template variables (``$__rate_interval``, ``$job``, ``${pool}``, ``[[var]]``) are replaced before a
dashboard query is parsed, the way Grafana would fill them in: a duration inside a range ``[...]`` or
after ``offset``, ``.*`` inside a quoted matcher value, the variable's current value where the dashboard
gives one, and a neutral name (or number) elsewhere. :func:`query_candidates` lists the readings worth
trying; :func:`query_series_names` keeps only the names the query itself spells out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import promql_parser

from pytest_artemis.errors import RuleError

__all__ = [
    "NUMBER_VARIABLES",
    "RANGE_VARIABLES",
    "expand_grafana_variables",
    "has_variables",
    "looks_like_logql",
    "parse",
    "parses",
    "query_candidates",
    "query_series_names",
    "series_names",
]

#: Grafana's built-in interval variables and the value that stands in for them.
RANGE_VARIABLES: dict[str, str] = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__interval_ms": "60000",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__auto_interval": "1m",
}
#: Grafana's built-in variables that are numbers (time range bounds, e.g. ``@ ${__to:date:seconds}``).
NUMBER_VARIABLES: dict[str, str] = {"__from": "1700000000", "__to": "1700000000"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_OFFSET = re.compile(r"\boffset\s*$", re.IGNORECASE)
_AT = re.compile(r"@\s*$")
#: LogQL line filters and parser stages: never valid PromQL, always a log query.
_LOGQL = re.compile(r"\|[=~]|\|\s*(json|logfmt|pattern|regexp|unpack|line_format|label_format|unwrap|drop|keep"
                    r"|decolorize)\b")


def _context(before: str) -> str:
    """Where a variable at the end of ``before`` stands: 'string', 'range', 'offset', 'at' or 'expr'."""
    quote = ""
    depth = 0
    escaped = False
    for char in before:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
    if quote:
        return "string"
    if depth:
        return "range"
    if _OFFSET.search(before):
        return "offset"
    if _AT.search(before):
        return "at"
    return "expr"


def _current(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def expand_grafana_variables(expr: str, values: Mapping[str, str] | None = None, *, fallback: str = "var",
                             in_string: str = ".*") -> str:
    """Replace Grafana template variables by values that keep the query parseable.

    Built-in interval variables become durations; any variable inside a range ``[...]`` or after
    ``offset`` a duration (its own value when that is one, else ``1m``); inside a quoted matcher value
    ``in_string`` (``.*``, Grafana's "All"); elsewhere its current value from ``values`` when that is a
    number or duration, else ``fallback`` (a neutral name such as ``var``, or a number such as ``1`` where
    a scalar is needed).
    """
    known = values or {}

    def substitute(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        where = _context(expr[: match.start()])
        if name in RANGE_VARIABLES:
            return RANGE_VARIABLES[name]
        if name in NUMBER_VARIABLES and where != "string":
            return NUMBER_VARIABLES[name]
        if where == "string":
            return in_string
        value = _current(known, name)
        if where in ("range", "offset"):
            return value if value and _DURATION.match(value) else "1m"
        if where == "at":
            return value if value and _NUMBER.match(value) else NUMBER_VARIABLES["__to"]
        if value and (_NUMBER.match(value) or _DURATION.match(value)):
            return value
        return fallback

    return _VARIABLE.sub(substitute, expr)


def has_variables(expr: str) -> bool:
    """True when the query uses a Grafana template variable."""
    return _VARIABLE.search(expr) is not None


def query_candidates(expr: str, values: Mapping[str, str] | None = None) -> list[str]:
    """The readings of a dashboard query worth parsing: variables as names first, then as numbers, then
    matcher values as ``.+``.

    A variable whose value the dashboard does not give may stand for a name (``by ($group)``) or a
    number (``topk($n, ...)``), and a selector such as ``{__name__=~"$metric"}`` needs a value that is
    not empty; the query is valid PromQL when one reading parses.
    """
    readings: list[str] = []
    for options in ({}, {"fallback": "1"}, {"in_string": ".+"}):
        reading = expand_grafana_variables(expr, values, **options)
        if reading not in readings:
            readings.append(reading)
    return readings


def looks_like_logql(expr: str) -> bool:
    """True for a log query (line filters ``|=``, ``|~`` or a parser stage): Loki's, never PromQL."""
    return _LOGQL.search(expr) is not None


def parse(expr: str) -> promql_parser.Expr:
    """Parse PromQL; RuleError with the parser's reason when it is not valid."""
    try:
        return promql_parser.parse(expr)
    except (ValueError, TypeError) as err:
        raise RuleError(str(err) or "not valid PromQL") from err


def parses(expr: str) -> bool:
    try:
        parse(expr)
    except RuleError:
        return False
    return True


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


def query_series_names(expr: str, values: Mapping[str, str] | None = None) -> set[str]:
    """Series names a dashboard query reads; RuleError when no reading of it parses.

    Names made up by the substitution (``var`` for ``$metric``, ``var_total`` for ``${prefix}_total``)
    are left out: only names the query spells out itself are returned.
    """
    for reading in query_candidates(expr, values):
        try:
            names = series_names(reading)
        except RuleError:
            continue
        return {n for n in names if re.search(rf"(?<![\w:$]){re.escape(n)}(?![\w:])", expr)}
    parse(query_candidates(expr, values)[0])  # raises with the first reading's reason
    return set()
