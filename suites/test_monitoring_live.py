"""Live monitoring checks (the observability gate): the Command Center dashboard and every Artemis alert
against a real Prometheus.

After quiet traffic every panel query must return data and no alert may be active; then each alert of
the kit must go pending under the fault that should raise it, and the seconds it took are recorded.
The stack (a private reference service and Prometheus, or the session's with ``--artemis-target`` /
``--artemis-prometheus``), the phased exercise and the production guard live in
``pytest_artemis.monitoring`` and the ``live_monitoring`` fixture; this module holds the checks only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.checks.dashboards.checks import DashboardContext
from pytest_artemis.checks.dashboards.live import panels_without_data, query_panels
from pytest_artemis.checks.dashboards.model import load_dashboard
from pytest_artemis.checks.rules.inventory import inventory_for
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.findings import display_path
from pytest_artemis.fixtures.observability import LiveMonitoring
from pytest_artemis.monitoring import ALERT_TIMEOUT_SECONDS, KIT_ALERTS, AlertCheck, dashboard_files
from pytest_artemis.stash import config_of


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dashboard_file" in metafunc.fixturenames:
        cfg = config_of(metafunc.config)
        files = dashboard_files(cfg)
        metafunc.parametrize("dashboard_file", files, ids=[display_path(p, cfg.rootdir) for p in files])


def _problems(problems: list[str]) -> str:
    return "".join(f"\n  while the traffic ran: {p}" for p in problems)


@pytest.mark.observability
def test_every_dashboard_panel_query_returns_data_after_traffic(
    dashboard_file: Path, live_monitoring: LiveMonitoring, artemis_config: ArtemisConfig, artemis_record: Any
) -> None:
    quiet = live_monitoring.quiet()
    stack = live_monitoring.stack
    results = query_panels(load_dashboard(dashboard_file), stack.prom.query)
    ctx = DashboardContext(file=display_path(dashboard_file, artemis_config.rootdir),
                           inventory=inventory_for(artemis_config))
    findings = panels_without_data(results, ctx)
    artemis_record.findings(findings)
    artemis_record.measurement("panel_queries_with_data", len(results) - len(findings), "queries",
                               limit=len(results), comparison=">=", passed=not findings, requests=quiet.requests)
    assert results, f"{ctx.file}: no Prometheus panel queries found"
    if findings:
        pytest.fail(f"{ctx.file}: {len(findings)} of {len(results)} panel queries returned no data after "
                    f"{quiet.requests} requests:\n" + "\n".join(f"  panel {f.name}: {f.message}" for f in findings)
                    + _problems(quiet.problems) + stack.explain(), pytrace=False)


@pytest.mark.observability
def test_no_alert_is_active_while_every_fault_is_off(live_monitoring: LiveMonitoring, artemis_record: Any) -> None:
    quiet = live_monitoring.quiet()
    artemis_record.measurement("alerts_without_faults", len(quiet.active_alerts), "alerts", limit=0,
                               comparison="<=", passed=not quiet.active_alerts, active=quiet.active_alerts,
                               statuses=quiet.traffic["statuses"])
    assert quiet.active_alerts == [], (
        f"alerts active with every fault off after {quiet.requests} requests (statuses {quiet.traffic['statuses']}): "
        f"{', '.join(quiet.active_alerts)}{_problems(quiet.problems)}{live_monitoring.stack.explain()}")


@pytest.mark.observability
@pytest.mark.parametrize("check", KIT_ALERTS, ids=[c.id for c in KIT_ALERTS])
def test_each_alert_of_the_kit(check: AlertCheck, live_monitoring: LiveMonitoring, artemis_record: Any) -> None:
    outcome = live_monitoring.alert(check.alert)
    traffic = outcome.traffic
    artemis_record.measurement(check.measurement, round(outcome.seconds, 2), "s", limit=ALERT_TIMEOUT_SECONDS,
                               comparison="<", passed=outcome.raised and outcome.before == "inactive",
                               state=outcome.state, phase=check.phase, **traffic)
    assert outcome.before == "inactive", (
        f"{check.alert} was already {outcome.before} before its fault was switched on: an earlier phase left it "
        f"active, so {outcome.seconds:.1f} s to pending proves nothing")
    assert outcome.raised, (
        f"{check.alert} stayed {outcome.state} for {ALERT_TIMEOUT_SECONDS:g} s when {check.condition} "
        f"(traffic {traffic or 'none'}){live_monitoring.stack.explain()}")
