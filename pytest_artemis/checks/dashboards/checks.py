"""Core checks of Grafana dashboards (area ``dashboards``, group ``core``): schema, layout, queries, units.

Each check takes a :class:`~pytest_artemis.checks.dashboards.model.Dashboard` and a
:class:`DashboardContext` and returns findings; the dashboard gate item runs them all and fails once.
Checks beyond what Grafana's dashboard model and Prometheus' PromQL parser enforce are opinions and say
why in ``why``. Queries are read the way Grafana sends them: template variables filled in from the
dashboard, log queries of a Loki datasource (also through ``__inputs``) left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_artemis.checks.dashboards.model import SPECIAL_DATASOURCES, Dashboard, Panel, datasource_ref, schema_errors
from pytest_artemis.checks.registry import REGISTRY, check
from pytest_artemis.checks.rules import promql
from pytest_artemis.checks.rules.inventory import Inventory
from pytest_artemis.errors import RuleError
from pytest_artemis.findings import Finding, Severity

__all__ = [
    "GRID_COLUMNS",
    "MIN_REFRESH_SECONDS",
    "UNIT_PANEL_TYPES",
    "DashboardContext",
    "finding",
    "refresh_seconds",
]

GRID_COLUMNS = 24
UNIT_PANEL_TYPES = frozenset({"stat", "gauge", "timeseries", "bargauge"})
MIN_REFRESH_SECONDS = 5
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class DashboardContext:
    """What the checks of one dashboard need besides the dashboard: display path and inventory.

    ``inventory`` is None when no source can know the dashboard's series (no inventory given, no
    Prometheus, not the kit's dashboard): the unknown-series check then does not run for it.
    """

    file: str
    inventory: Inventory | None


def finding(check_id: str, ctx: DashboardContext, message: str, panel: Panel | None = None, *,
            severity: Severity | None = None) -> Finding:
    registered = REGISTRY[check_id]
    return Finding(check=check_id, severity=severity or registered.severity, message=message,
                   kind="panel" if panel else "dashboard",
                   name=(f"{panel.id} {panel.title}".strip() if panel else ""),
                   file=ctx.file, fix=registered.fix)


@check("dashboard-schema", area="dashboards", target="dashboard", severity="critical",
       fix="fix the field named; see the Grafana dashboard JSON model")
def schema_valid(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """The dashboard JSON does not match the dashboard model (uid, title, panels, gridPos, targets ...)."""
    for error in schema_errors(dashboard.document):
        yield finding("dashboard-schema", ctx, error)


@check("dashboard-uid-missing", area="dashboards", target="dashboard", severity="warning",
       fix="set a stable 'uid' so links and provisioning survive re-imports",
       why="Grafana makes up a uid on import; links, playlists and provisioned copies then break on the next "
           "import.")
def uid_missing(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """The dashboard has no uid, so every import creates a new dashboard with new links."""
    if not dashboard.document.get("uid"):
        yield finding("dashboard-uid-missing", ctx, "uid missing")


@check("dashboard-panel-id-duplicate", area="dashboards", target="panel", severity="critical",
       fix="give every panel (rows and nested panels included) its own id",
       why="Grafana renumbers one of the panels on load, so panel links (viewPanel=ID), embedded panels and "
           "repeats point at the wrong one. Dashboards Grafana exported never have it.")
def duplicate_ids(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """Two panels share an id; Grafana then edits, links and repeats the wrong one."""
    seen: dict[object, Panel] = {}
    for panel in dashboard.panels():
        if panel.id is None:
            continue
        first = seen.setdefault(panel.id, panel)
        if first is not panel:
            yield finding("dashboard-panel-id-duplicate", ctx,
                          f"id {panel.id} also used by {first.label}", panel)


@check("dashboard-gridpos-out-of-bounds", area="dashboards", target="panel", severity="critical",
       fix="keep x >= 0, w >= 1, h >= 1 and x + w <= 24 (old rows: span 1..12)",
       why="Grafana clamps such a panel into its 24-column grid, so what is shown is not what the file says (a "
           "hand edit gone wrong). Dashboards Grafana exported never have it.")
def grid_bounds(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A panel lies outside the 24-column grid (or has no gridPos in the panels model)."""
    for panel in dashboard.panels():
        if panel.scope.startswith("rows:"):
            span = panel.raw.get("span", 12)
            if not isinstance(span, (int, float)) or not 1 <= span <= 12:
                yield finding("dashboard-gridpos-out-of-bounds", ctx, f"span {span!r} outside 1..12", panel)
            continue
        if panel.grid is None:
            yield finding("dashboard-gridpos-out-of-bounds", ctx, "gridPos missing", panel)
            continue
        box = _box(panel)
        if box is None:
            continue  # reported by dashboard-schema
        x, y, w, h = box
        if x + w > GRID_COLUMNS:
            yield finding("dashboard-gridpos-out-of-bounds", ctx,
                          f"gridPos x={x} y={y} w={w} h={h}: x + w = {x + w} exceeds {GRID_COLUMNS} columns", panel)
        elif x < 0 or y < 0 or w < 1 or h < 1:
            yield finding("dashboard-gridpos-out-of-bounds", ctx,
                          f"gridPos x={x} y={y} w={w} h={h} has a negative or empty side", panel)


def _box(panel: Panel) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of a panel's gridPos, None when absent or not all integers."""
    if panel.grid is None:
        return None
    x, y, w, h = (panel.grid.get(k) for k in ("x", "y", "w", "h"))
    if isinstance(x, int) and isinstance(y, int) and isinstance(w, int) and isinstance(h, int):
        return x, y, w, h
    return None


@check("dashboard-panel-overlap", area="dashboards", target="panel", severity="critical",
       fix="move or resize the panels so their gridPos rectangles do not intersect",
       why="Grafana pushes overlapping panels down, so the layout shown is not the one in the file (a hand edit or "
           "merge gone wrong). Dashboards Grafana exported never have it.")
def overlaps(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """Two panels of the same layout (top level, or one collapsed row) overlap."""
    placed: dict[str, list[tuple[Panel, tuple[int, int, int, int]]]] = {}
    for panel in dashboard.panels():
        box = _box(panel)
        if box is None or panel.scope.startswith("rows:"):
            continue
        x, y, w, h = box
        for other, (ox, oy, ow, oh) in placed.get(panel.scope, []):
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                yield finding("dashboard-panel-overlap", ctx,
                              f"gridPos x={x} y={y} w={w} h={h} overlaps {other.label} at x={ox} y={oy} w={ow} h={oh}",
                              panel)
        placed.setdefault(panel.scope, []).append((panel, box))


@check("dashboard-query-invalid", area="dashboards", target="panel", severity="critical",
       fix="correct the PromQL; try it in Grafana's Explore view")
def query_parses(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A panel's Prometheus query is not valid PromQL, however its Grafana variables are filled in."""
    values = dashboard.variable_values()
    for panel, target in dashboard.prometheus_queries():
        readings = promql.query_candidates(target.expr or "", values)
        if any(promql.parses(reading) for reading in readings):
            continue
        try:
            promql.parse(readings[0])
        except RuleError as err:
            yield finding("dashboard-query-invalid", ctx,
                          f"query {target.ref_id} does not parse: {err} in {target.expr!r}", panel)


@check("dashboard-query-unknown-series", area="dashboards", target="panel", severity="warning",
       fix="use a recording rule or metric that exists, or list the metric in a metric inventory file",
       why="A misspelt or renamed metric leaves a panel empty, which looks like 'all quiet'. Judged only against a "
           "source that can know the names (--artemis-metric-inventory, --artemis-prometheus, the kit's inventory "
           "for the kit's dashboard); other dashboards are not checked and the gate says so once.")
def query_series_known(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A panel query reads a series that no rule produces and the series source (inventory, Prometheus) does not know."""
    if ctx.inventory is None:
        return  # no source can know this dashboard's series: said once per gate, not per panel
    values = dashboard.variable_values()
    for panel, target in dashboard.prometheus_queries():
        try:
            names = promql.query_series_names(target.expr or "", values)
        except RuleError:
            continue  # reported by dashboard-query-invalid
        unknown = sorted(n for n in names if not ctx.inventory.knows(n))
        if unknown:
            yield finding("dashboard-query-unknown-series", ctx,
                          f"query {target.ref_id} reads unknown series {', '.join(unknown)} "
                          f"(not produced by a rule, not in {ctx.inventory.described})", panel)


def _hardcoded(ref: object) -> str | None:
    uid = datasource_ref(ref)[1].strip()
    if not uid or uid.startswith(("$", "[[")) or uid in SPECIAL_DATASOURCES:
        return None
    return uid


@check("dashboard-datasource-hardcoded", area="dashboards", target="panel", severity="warning",
       fix="add a datasource template variable and use {\"uid\": \"${datasource}\"}",
       why="A fixed datasource uid exists in one Grafana only: the dashboard shows nothing in staging, in another "
           "organisation or after a datasource is recreated.")
def datasource_variable(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A panel or query names a fixed datasource uid instead of a datasource variable."""
    for panel in dashboard.panels():
        uid = _hardcoded(panel.raw.get("datasource"))
        if uid:
            yield finding("dashboard-datasource-hardcoded", ctx, f"datasource {uid!r} is hard-coded", panel)
            continue
        for target in panel.targets:
            uid = _hardcoded(target.raw.get("datasource"))
            if uid:
                yield finding("dashboard-datasource-hardcoded", ctx,
                              f"query {target.ref_id} datasource {uid!r} is hard-coded", panel)
                break


@check("dashboard-unit-missing", area="dashboards", target="panel", severity="warning",
       fix="set fieldConfig.defaults.unit (e.g. percent, ms, reqps, or none for plain numbers)",
       why="Without a unit 0.25 may be seconds, a ratio or requests: the reader has to guess.")
def unit_set(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A stat, gauge, bar gauge or time series panel has no unit."""
    for panel in dashboard.panels():
        if panel.type in UNIT_PANEL_TYPES:
            defaults = (panel.raw.get("fieldConfig") or {}).get("defaults") or {}
            if not str(defaults.get("unit") or "").strip():
                yield finding("dashboard-unit-missing", ctx, f"{panel.type} panel without fieldConfig.defaults.unit",
                              panel)


def refresh_seconds(value: object) -> float | None:
    """Seconds of a Grafana refresh value ("5s", "1m"), None when unset or unreadable."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    return int(match.group(1)) * _SECONDS[match.group(2)] if match else None


@check("dashboard-refresh-interval", area="dashboards", target="dashboard", severity="warning",
       fix="set 'refresh' to 5s or slower (e.g. \"5s\", \"30s\", \"1m\")",
       why="A dashboard on a wall screen without auto-refresh goes stale; one refreshing faster than 5 s loads "
           "Prometheus for no new data (Grafana's default min_refresh_interval).")
def refresh_interval(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """The dashboard has no auto-refresh, or refreshes faster than every 5 s."""
    value = dashboard.document.get("refresh")
    seconds = refresh_seconds(value)
    if value in (None, "", False):
        yield finding("dashboard-refresh-interval", ctx, "refresh not set: the display goes stale")
    elif seconds is None:
        yield finding("dashboard-refresh-interval", ctx, f"refresh {value!r} is not a duration such as 5s or 1m")
    elif seconds < MIN_REFRESH_SECONDS:
        yield finding("dashboard-refresh-interval", ctx,
                      f"refresh {value} is faster than {MIN_REFRESH_SECONDS}s (Grafana's default minimum)")


@check("dashboard-json-invalid", area="dashboards", target="file", severity="critical", group="file",
       fix="fix the JSON syntax at the line and column named (a dashboard file holds one JSON object)")
def _json_invalid() -> list[Finding]:
    """A dashboard file is not readable JSON."""
    return []  # findings are made by BrokenFileItem from the loader's error
