"""Theme checks of the Command Center dashboard (area ``dashboards``, group ``theme``).

They hold the kit's dashboard to the seed's look: section rows, terminology, palette and 5 s refresh.
Third-party dashboards skip them: the theme item runs only on dashboards tagged ``artemis``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pytest_artemis import theme
from pytest_artemis.checks.dashboards.checks import DashboardContext, finding, refresh_seconds
from pytest_artemis.checks.dashboards.model import Dashboard
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["PALETTE_COLOURS", "THEME_TAG", "wants_theme"]

#: Dashboards carrying this tag are held to the theme.
THEME_TAG = "artemis"
PALETTE_COLOURS = frozenset(c.lower() for c in (theme.GREEN, theme.YELLOW, theme.RED))
#: Why the theme checks exist (they are opinions: the kit's look, not Grafana's rules).
THEME_WHY = ("The kit's Command Center look (the seed's sections, terms, palette and 5 s refresh); only dashboards "
             "tagged 'artemis' are held to it, so no other dashboard needs to turn them off.")
_TERMS = {plain: re.compile(rf"\b{re.escape(plain)}\b", re.IGNORECASE) for plain in theme.TERMINOLOGY}


def wants_theme(dashboard: Dashboard) -> bool:
    tags = dashboard.document.get("tags") or []
    return isinstance(tags, list) and THEME_TAG in tags


@check("dashboard-theme-sections", area="dashboards", target="dashboard", severity="warning", group="theme",
       fix="use rows titled, in order: " + ", ".join(theme.DASHBOARD_SECTIONS),
       why=THEME_WHY)
def sections(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """The dashboard's rows are not the Command Center sections in their order."""
    rows = [p.title for p in dashboard.panels() if p.type == "row"]
    rows += [str(r.get("title", "")) for r in dashboard.document.get("rows") or [] if isinstance(r, dict)]
    if rows != list(theme.DASHBOARD_SECTIONS):
        yield finding("dashboard-theme-sections", ctx,
                      f"rows are {rows}; expected {list(theme.DASHBOARD_SECTIONS)}")


@check("dashboard-theme-terminology", area="dashboards", target="panel", severity="warning", group="theme",
       fix="use the Artemis term from the theme's terminology",
       why=THEME_WHY)
def terminology(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A panel title uses a plain term the theme renames (e.g. Error Rate -> Mission Failure Rate)."""
    for panel in dashboard.panels():
        for plain, pattern in _TERMS.items():
            if pattern.search(panel.title) and theme.term(plain).lower() not in panel.title.lower():
                yield finding("dashboard-theme-terminology", ctx,
                              f"title {panel.title!r} says {plain!r}; the Command Center says {theme.term(plain)!r}",
                              panel)


@check("dashboard-theme-palette", area="dashboards", target="panel", severity="warning", group="theme",
       fix=f"use the palette: {theme.GREEN} nominal, {theme.YELLOW} warning, {theme.RED} critical",
       why=THEME_WHY)
def palette(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """A threshold colour is outside the seed palette."""
    for panel in dashboard.panels():
        defaults = (panel.raw.get("fieldConfig") or {}).get("defaults") or {}
        steps = ((defaults.get("thresholds") or {}).get("steps")) or []
        odd = sorted({str(s.get("color")) for s in steps if isinstance(s, dict)
                      and str(s.get("color", "")).lower() not in PALETTE_COLOURS})
        if odd:
            yield finding("dashboard-theme-palette", ctx, f"threshold colours {', '.join(odd)} are not in the palette",
                          panel)


@check("dashboard-theme-refresh", area="dashboards", target="dashboard", severity="warning", group="theme",
       fix="set 'refresh' to \"5s\" (the Command Center updates every 5 seconds)",
       why=THEME_WHY)
def refresh(dashboard: Dashboard, ctx: DashboardContext) -> Iterator[Finding]:
    """The Command Center does not refresh every 5 seconds."""
    value = dashboard.document.get("refresh")
    if refresh_seconds(value) != 5:
        yield finding("dashboard-theme-refresh", ctx, f"refresh is {value!r}; expected '5s'")
