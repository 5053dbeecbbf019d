"""Table-driven tests of the dashboard checks: one small dashboard, one expected finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.checks.dashboards.checks import DashboardContext
from pytest_artemis.checks.dashboards.collect import run_checks
from pytest_artemis.checks.dashboards.model import load_dashboard
from pytest_artemis.checks.registry import checks_for
from pytest_artemis.checks.rules.inventory import build_inventory
from pytest_artemis.errors import DashboardError
from pytest_artemis.findings import Finding

ROOT = Path(__file__).resolve().parents[2]
KIT_DASHBOARD = ROOT / "dashboards" / "artemis-command-dashboard.json"


def run_group(path: Path, group: str = "core") -> list[Finding]:
    dashboard = load_dashboard(path)
    ctx = DashboardContext(file=path.name, inventory=build_inventory((ROOT / "manifests" / "monitoring",)))
    found: list[Finding] = []
    schema = [c for c in checks_for("dashboards", groups=[group]) if c.id == "dashboard-schema"]
    for registered in schema + [c for c in checks_for("dashboards", groups=[group]) if c.id != "dashboard-schema"]:
        found.extend(registered(dashboard, ctx))
    return found


CASES = [
    pytest.param("overlap.json", "dashboard-panel-overlap", "critical",
                 "gridPos x=6 y=1 w=12 h=4 overlaps panel 2 'Mission Failure Rate' at x=0 y=1 w=12 h=4",
                 id="overlapping panels are critical"),
    pytest.param("collapsed_row_overlap.json", "dashboard-panel-overlap", "critical",
                 "overlaps panel 2 'Mission Failure Rate'", id="panels overlapping inside a collapsed row are found"),
    pytest.param("duplicate_ids.json", "dashboard-panel-id-duplicate", "critical",
                 "id 2 also used by panel 2 'Mission Failure Rate'", id="duplicate panel ids are critical"),
    pytest.param("out_of_bounds.json", "dashboard-gridpos-out-of-bounds", "critical",
                 "x + w = 26 exceeds 24 columns", id="a panel past column 24 is critical"),
    pytest.param("old_rows.json", "dashboard-gridpos-out-of-bounds", "critical", "span 14 outside 1..12",
                 id="old rows format panels are checked by span"),
    pytest.param("missing_unit.json", "dashboard-unit-missing", "warning",
                 "stat panel without fieldConfig.defaults.unit", id="a stat panel without unit is a warning"),
    pytest.param("hardcoded_datasource.json", "dashboard-datasource-hardcoded", "warning",
                 "datasource 'P1809F7CD0C75ACF3' is hard-coded", id="a hard-coded datasource uid is a warning"),
    pytest.param("bad_promql.json", "dashboard-query-invalid", "critical", "query A does not parse",
                 id="bad PromQL in a panel is critical"),
    pytest.param("unknown_series.json", "dashboard-query-unknown-series", "warning",
                 "query A reads unknown series shop_orders_total", id="an unknown series in a panel is a warning"),
    pytest.param("no_refresh.json", "dashboard-refresh-interval", "warning", "refresh not set",
                 id="a dashboard without refresh is a warning"),
    pytest.param("too_fast_refresh.json", "dashboard-refresh-interval", "warning", "refresh 1s is faster than 5s",
                 id="refreshing faster than 5 s is a warning"),
    pytest.param("no_uid.json", "dashboard-uid-missing", "warning", "uid missing", id="a dashboard without uid"),
    pytest.param("schema_invalid.json", "dashboard-schema", "critical", "panels.1.gridPos.x: 'left' is not of type",
                 id="a dashboard off the JSON model is critical"),
]


@pytest.mark.parametrize(("file", "check_id", "severity", "message"), CASES)
def test_dashboard_check_reports_the_problem_of_its_file(data_dir: Path, file: str, check_id: str, severity: str,
                                                         message: str) -> None:
    findings = run_group(data_dir / "dashboards" / file)
    assert {f.check for f in findings} == {check_id}, [(f.check, f.message) for f in findings]
    assert all(f.severity == severity and f.file == file and f.fix for f in findings)
    assert any(message in f.message for f in findings), [f.message for f in findings]


def test_a_clean_dashboard_has_no_findings(data_dir: Path) -> None:
    assert run_group(data_dir / "dashboards" / "clean.json") == []


def test_panels_in_different_rows_scopes_do_not_overlap(data_dir: Path) -> None:
    findings = run_group(data_dir / "dashboards" / "collapsed_row_overlap.json")
    assert [f.name for f in findings] == ["3 Throughput"]  # not panel 5, laid out in another scope


def test_theme_checks_report_palette_and_terminology(data_dir: Path) -> None:
    findings = run_group(data_dir / "dashboards" / "theme_problems.json", group="theme")
    by_check = {f.check: f.message for f in findings}
    assert by_check["dashboard-theme-palette"] == "threshold colours green are not in the palette"
    assert "'Error Rate'; the Command Center says 'Mission Failure Rate'" in by_check["dashboard-theme-terminology"]
    assert "dashboard-theme-sections" in by_check


def test_the_kit_dashboard_passes_every_core_and_theme_check() -> None:
    assert [(f.check, f.message) for f in run_group(KIT_DASHBOARD) + run_group(KIT_DASHBOARD, "theme")] == []


def test_the_kit_dashboard_has_the_seed_sections_and_a_logs_panel() -> None:
    dashboard = load_dashboard(KIT_DASHBOARD)
    panels = dashboard.panels()
    assert "logs" in {p.type for p in panels if p.section == "Tactical Intelligence Log"}
    assert all("artemis:" in t.expr or "process_" in t.expr or "artemis_" in t.expr
               for _, t in dashboard.prometheus_queries() if t.expr)
    assert dashboard.document["refresh"] == "5s"


def test_run_checks_stops_at_the_schema_when_it_fails(data_dir: Path) -> None:
    from pytest_artemis.config import resolve

    cfg = resolve({}, {}, {}, ROOT)
    found = run_checks(load_dashboard(data_dir / "dashboards" / "schema_invalid.json"), cfg, "x.json", "core")
    assert {f.check for f in found} == {"dashboard-schema"}


def test_broken_json_raises_the_project_error_naming_line_and_column(data_dir: Path) -> None:
    with pytest.raises(DashboardError, match=r"broken.json line 3 column 1: not valid JSON"):
        load_dashboard(data_dir / "dashboards" / "broken.json")


@pytest.mark.parametrize(("change", "check_id", "message"), [
    pytest.param(lambda d: d.update(refresh="30s"), "dashboard-theme-refresh", "refresh is '30s'; expected '5s'",
                 id="the command center refreshing every 30 s breaks the theme"),
    pytest.param(lambda d: d["panels"].reverse(), "dashboard-theme-sections", "rows are ['Tactical Intelligence Log'",
                 id="the command center sections out of order break the theme"),
])
def test_one_change_to_the_kit_dashboard_yields_exactly_its_theme_finding(
    tmp_path: Path, change: Any, check_id: str, message: str
) -> None:
    document = json.loads(KIT_DASHBOARD.read_text(encoding="utf-8"))
    change(document)
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    findings = run_group(changed, "theme")
    assert [f.check for f in findings] == [check_id], [(f.check, f.message) for f in findings]
    assert message in findings[0].message and findings[0].fix
