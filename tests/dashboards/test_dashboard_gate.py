"""The dashboard gate end to end: dashboard JSON files as items, with no test code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_artemis.checks.registry import checks_for, render_docs

ROOT = Path(__file__).resolve().parents[2]


def test_the_kit_dashboard_passes_the_gate_with_no_findings(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "dashboards", pytester.path / "dashboards")
    shutil.copytree(ROOT / "manifests" / "monitoring", pytester.path / "manifests" / "monitoring")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest("--artemis-dashboards", "dashboards", "--artemis-rules", "manifests/monitoring", "-m",
                                "dashboards", "--artemis-verdict", str(verdict), "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["PASSED dashboards/artemis-command-dashboard.json::checks",
                                 "PASSED dashboards/artemis-command-dashboard.json::theme"])
    assert json.loads(verdict.read_text())["findings"] == []


def test_broken_json_is_one_failing_item_naming_line_and_column(pytester: pytest.Pytester, data_dir: Path) -> None:
    shutil.copy(data_dir / "dashboards" / "broken.json", pytester.path / "broken.json")
    result = pytester.runpytest("--artemis-dashboards", "broken.json", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*dashboard-json-invalid: *broken.json line 3 column 1: not valid JSON*"])


def test_theme_checks_are_skipped_for_dashboards_not_tagged_artemis(pytester: pytest.Pytester,
                                                                     data_dir: Path) -> None:
    shutil.copy(data_dir / "dashboards" / "clean.json", pytester.path / "shop.json")
    result = pytester.runpytest("--artemis-dashboards", "shop.json", "-p", "no:cacheprovider", "-rs",
                                "--artemis-ignore-check", "dashboard-query-unknown-series")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*theme checks apply to dashboards tagged 'artemis'*"])


def test_theme_findings_fail_a_tagged_dashboard_with_fail_on_warning(pytester: pytest.Pytester,
                                                                      data_dir: Path) -> None:
    shutil.copy(data_dir / "dashboards" / "theme_problems.json", pytester.path / "themed.json")
    result = pytester.runpytest("--artemis-dashboards", "themed.json", "--artemis-fail-on", "warning", "-p",
                                "no:cacheprovider", "-k", "not checks and not known")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*[[]warning[]] dashboard-theme-palette: threshold colours green*"])


def test_a_directory_of_third_party_dashboards_reports_each_problem_with_a_stable_id(
    pytester: pytest.Pytester, data_dir: Path
) -> None:
    shutil.copytree(data_dir / "dashboards", pytester.path / "boards")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest("--artemis-dashboards", "boards", "--artemis-verdict", str(verdict), "-p",
                                "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert "error" not in outcomes and outcomes["failed"] >= 7, result.stdout.str()
    found = {f["check"] for f in json.loads(verdict.read_text())["findings"]}
    assert found >= {"dashboard-json-invalid", "dashboard-schema", "dashboard-panel-overlap",
                     "dashboard-panel-id-duplicate", "dashboard-gridpos-out-of-bounds", "dashboard-query-invalid",
                     "dashboard-unit-missing", "dashboard-datasource-hardcoded", "dashboard-refresh-interval"}


def test_an_ignored_check_id_is_dropped_everywhere(pytester: pytest.Pytester, data_dir: Path) -> None:
    shutil.copy(data_dir / "dashboards" / "overlap.json", pytester.path / "overlap.json")
    result = pytester.runpytest("--artemis-dashboards", "overlap.json", "--artemis-ignore-check",
                                "dashboard-panel-overlap", "--artemis-ignore-check", "dashboard-query-unknown-series",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)


@pytest.mark.parametrize("area", ["rules", "dashboards"])
def test_every_check_has_a_kebab_id_a_one_line_doc_and_a_fix(area: str) -> None:
    registered = checks_for(area)
    assert len(registered) >= 10
    for c in registered:
        assert c.id.replace("-", "").isalnum() and c.id == c.id.lower()
        assert c.doc.endswith(".") and c.fix, c.id
    docs = render_docs([area])
    assert all(f"`{c.id}`" in docs for c in registered)
