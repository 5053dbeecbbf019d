"""The online dashboard check: every Prometheus query of a dashboard returns data from a live server.

Grafana variables are replaced first (``$job`` -> ``.*`` inside a matcher, ``$__rate_interval`` -> 1m, a
custom or interval variable by its current value), so a query is asked as Grafana would ask it with "All"
selected. No pytest imports: the live suite passes a query function (``PromClient.query``) and records the
findings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pytest_artemis.checks.dashboards.checks import DashboardContext, finding
from pytest_artemis.checks.dashboards.model import Dashboard, Panel
from pytest_artemis.checks.registry import check
from pytest_artemis.checks.rules.promql import expand_grafana_variables
from pytest_artemis.errors import ArtemisError
from pytest_artemis.findings import Finding

__all__ = ["PanelQueryResult", "query_panels"]


@dataclass(frozen=True)
class PanelQueryResult:
    """What one panel query returned: the number of series, or the error."""

    panel: Panel
    ref_id: str
    expr: str
    series: int
    error: str = ""

    def line(self) -> str:
        got = self.error or f"{self.series} series"
        return f"{self.panel.label} query {self.ref_id}: {self.expr} -> {got}"


def query_panels(dashboard: Dashboard, query: Callable[[str], Sequence[object]]) -> list[PanelQueryResult]:
    """Ask every Prometheus query of the dashboard; errors are kept per query, never raised."""
    results = []
    values = dashboard.variable_values()
    for panel, target in dashboard.prometheus_queries():
        expr = expand_grafana_variables(target.expr or "", values)
        try:
            results.append(PanelQueryResult(panel, target.ref_id, expr, len(query(expr))))
        except ArtemisError as err:
            results.append(PanelQueryResult(panel, target.ref_id, expr, 0, str(err)))
    return results


@check("dashboard-panel-no-data", area="dashboards", target="panel", severity="critical", group="live", online=True,
       fix="check the series names against the live /metrics and the loaded rules; add the missing rule",
       why="A panel that shows nothing while the service runs hides an outage; run by the live monitoring suite "
           "(-m observability) only.")
def panels_without_data(results: Sequence[PanelQueryResult], ctx: DashboardContext) -> list[Finding]:
    """A panel query returns no series from a Prometheus scraping the live service."""
    return [
        finding("dashboard-panel-no-data", ctx,
                f"query {r.ref_id} {r.expr!r} returned {r.error or 'no series'}", r.panel)
        for r in results
        if r.error or r.series == 0
    ]
