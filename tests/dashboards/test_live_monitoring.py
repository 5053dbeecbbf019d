"""The live monitoring suite (suites/test_monitoring_live.py) run as a user runs it, against real processes.

One bounded run of the observability gate (``-m observability``) starts a private reference service and a
real Prometheus loading the kit's rules plus one rule file with a standing critical alert, and gates the
kit dashboard plus one dashboard whose panel can never have data. The kit's proofs pass (panel data, and
every one of the kit's seven alerts pending under its fault, each its own test with its seconds to
pending); the two planted defects fail with the panel title, the query and the alert named, and reach the
verdict file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_artemis.errors import ArtemisError
from pytest_artemis.monitoring import ALERT_TIMEOUT_SECONDS, KIT_ALERTS
from pytest_artemis.services.prometheus import find_binary

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "suites" / "test_monitoring_live.py"
GHOST_QUERY = 'artemis:error_rate_percent{job="no-such-unit"}'

BLIND_DASHBOARD = {
    "uid": "blind", "title": "Blind", "schemaVersion": 39, "refresh": "5s",
    "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
    "panels": [{
        "id": 1, "type": "stat", "title": "Ghost Unit", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": "percent"}},
        "targets": [{"refId": "A", "expr": GHOST_QUERY}],
    }],
}

STANDING_ALERT = """\
groups:
  - name: standing
    rules:
      - alert: StandingOrder
        expr: vector(1)
        for: 10m
        labels: {severity: critical}
        annotations: {summary: always pending, description: planted by the test}
"""


@pytest.fixture
def prometheus_binary() -> Path:
    try:
        return find_binary(None)
    except ArtemisError as err:
        pytest.skip(str(err))


def test_live_suite_passes_the_kit_and_names_an_empty_panel_and_a_standing_critical_alert(
    pytester: pytest.Pytester, prometheus_binary: Path
) -> None:
    pytester.makepyfile(test_monitoring_live=SUITE.read_text(encoding="utf-8"))
    boards, rules = pytester.mkdir("boards"), pytester.mkdir("rules")
    shutil.copy(ROOT / "dashboards" / "artemis-command-dashboard.json", boards)
    (boards / "blind.json").write_text(json.dumps(BLIND_DASHBOARD), encoding="utf-8")
    for rule_file in (ROOT / "manifests" / "monitoring" / "rules").glob("*.yaml"):
        shutil.copy(rule_file, rules)
    (rules / "standing.yaml").write_text(STANDING_ALERT, encoding="utf-8")

    result = pytester.runpytest_subprocess(
        "test_monitoring_live.py", "-m", "observability", "--artemis-dashboards", "boards", "--artemis-rules", "rules",
        f"--artemis-prometheus-bin={prometheus_binary}", "--artemis-verdict=verdict.json",
        "-p", "no:cacheprovider", "-rA", timeout=240)

    result.assert_outcomes(passed=1 + len(KIT_ALERTS), failed=2)
    result.stdout.fnmatch_lines_random([
        "PASSED *test_every_dashboard_panel_query_returns_data_after_traffic*artemis-command-dashboard.json*",
        *(f"PASSED *test_each_alert_of_the_kit*{check.id}*" for check in KIT_ALERTS),
        "FAILED *test_every_dashboard_panel_query_returns_data_after_traffic*blind.json*",
        "FAILED *test_no_alert_is_active_while_every_fault_is_off*",
        "*1 of 1 panel queries returned no data*",
        "*panel 1 Ghost Unit: query A *no-such-unit* returned no series*",
        "*alerts active with every fault off*StandingOrder (pending, critical)*",
    ])
    verdict = json.loads((pytester.path / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["verdict"] == "NO-GO"
    [ghost] = [f for f in verdict["findings"] if f["check"] == "dashboard-panel-no-data"]
    assert (ghost["severity"], ghost["file"], ghost["name"]) == ("critical", "boards/blind.json", "1 Ghost Unit")
    measured = {m["name"]: m for m in verdict["measurements"]}
    for check in KIT_ALERTS:
        seconds = measured[check.measurement]
        assert seconds["passed"] is True and 0 < seconds["value"] < ALERT_TIMEOUT_SECONDS, seconds
    assert measured["alerts_without_faults"]["value"] == 1
