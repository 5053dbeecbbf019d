"""Live monitoring checks: the Command Center dashboard and the Artemis alerts against a real Prometheus.

A private reference service and a Prometheus loading the gated rule files (``--artemis-rules``) are
started for this module, so switching faults here never colours another suite's figures; with
``--artemis-target``/``--artemis-prometheus`` the session's services are used instead (fault checks
then need the reference service's fault switches and are skipped without them).

The module runs one bounded exercise, in order: quiet traffic (every panel query must return data and
no critical alert may be active), then the error-ratio fault (High Error Rate must reach pending or
firing), then failed authentications above 10 a minute (Security Breach must). Each phase runs the
earlier ones first, so any test can run alone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from pytest_artemis.checks.dashboards.checks import DashboardContext
from pytest_artemis.checks.dashboards.live import panels_without_data, query_panels
from pytest_artemis.checks.dashboards.model import load_dashboard
from pytest_artemis.checks.rules.inventory import inventory_for
from pytest_artemis.clients.prom import PromClient
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import ArtemisError
from pytest_artemis.findings import display_path
from pytest_artemis.services.prometheus import PrometheusServer, find_binary
from pytest_artemis.services.target.control import Target, start_reference_service

#: Bounds of every traffic burst: duration (s), requests, pause between requests (s).
BURST_SECONDS = 4.0
BURST_MAX_REQUESTS = 2000
PAUSE_SECONDS = 0.01
ALERT_TIMEOUT_SECONDS = 25.0
ERROR_RATIO = 0.5
FAILED_AUTHS = 40  # in about 3 s: far above the Security Breach line of 10 a minute
QUIET_FAILED_AUTHS = 2  # below the line, so the threat panels have a series to show
API_PATHS = ("/api/v1/status", "/api/v1/missions", "/api/v1/missions/1")


def _dashboard_files(cfg: ArtemisConfig) -> list[Path]:
    files: set[Path] = set()
    for root in cfg.dashboards:
        if root.is_file() and root.suffix == ".json":
            files.add(root)
        elif root.is_dir():
            files.update(p for p in root.rglob("*.json") if p.is_file())
    return sorted(files)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dashboard_file" in metafunc.fixturenames:
        from pytest_artemis.plugin import CONFIG_KEY

        cfg = metafunc.config.stash[CONFIG_KEY]
        files = _dashboard_files(cfg)
        metafunc.parametrize("dashboard_file", files, ids=[display_path(p, cfg.rootdir) for p in files])


class Traffic:
    """Requests from a background thread, bounded in time and count; ``stop()`` joins it."""

    def __init__(self, base_url: str, paths: tuple[str, ...], *, seconds: float, max_requests: int,
                 headers: dict[str, str] | None = None, pause: float = PAUSE_SECONDS) -> None:
        self.base_url, self.paths, self.headers = base_url, paths, headers or {}
        self.seconds, self.max_requests, self.pause = seconds, max_requests, pause
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="artemis-monitoring-traffic", daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        with httpx.Client(base_url=self.base_url, timeout=5.0, headers=self.headers) as client:
            while not self._stop.is_set() and time.monotonic() < deadline and self.sent < self.max_requests:
                try:
                    status = client.get(self.paths[self.sent % len(self.paths)]).status_code
                except httpx.HTTPError:
                    status = 0
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.sent += 1
                self._stop.wait(self.pause)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait(self) -> Traffic:
        """Run to the end (starting it when it has not started)."""
        if self._thread.ident is None:
            self._thread.start()
        self._thread.join(timeout=self.seconds + 10)
        return self


@dataclass
class Stack:
    target: Target
    prom: PromClient
    private: bool
    notes: tuple[str, ...] = ()  # what the private Prometheus left out (rule files it skipped)

    def explain(self) -> str:
        """The notes as a suffix for failure messages ('' when Prometheus loaded everything)."""
        return "".join(f"\n  note: {note}" for note in self.notes)


def _critical_alerts(prom: PromClient) -> list[str]:
    return sorted(f"{s.labels.get('alertname')} ({s.labels.get('alertstate')})"
                  for s in prom.query('ALERTS{severity="critical"}'))


def _wait_alert(prom: PromClient, name: str, timeout: float) -> tuple[str, float]:
    """(state, seconds) once ``name`` is pending or firing; ('inactive', timeout) when it never is."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        state = prom.alert_state(name)
        if state in ("pending", "firing"):
            return state, time.monotonic() - started
        time.sleep(0.5)
    return prom.alert_state(name), timeout


@dataclass
class Exercise:
    """The module's phases, each run once and in order (quiet, errors, auth)."""

    stack: Stack
    results: dict[str, Any] = field(default_factory=dict)

    def _once(self, phase: str, run: Callable[[], Any]) -> Any:
        """Run a phase the first time it is asked for; later askers get its result (or its error) again."""
        if phase not in self.results:
            try:
                self.results[phase] = run()
            except ArtemisError as err:
                self.results[phase] = err
        result = self.results[phase]
        if isinstance(result, ArtemisError):
            pytest.fail(f"{phase} phase: {result}{self.stack.explain()}", pytrace=False)
        return result

    def quiet(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            target, prom = self.stack.target, self.stack.prom
            with Traffic(target.url, API_PATHS, seconds=BURST_SECONDS, max_requests=BURST_MAX_REQUESTS) as traffic:
                Traffic(target.url, ("/admin/faults",), seconds=2, max_requests=QUIET_FAILED_AUTHS, pause=0.5).wait()
                prom.wait_for("count(artemis:response_time_p95_ms)", lambda v: v is not None and v >= 1,
                              timeout=20, description="the recording rules to have data")
                traffic.wait()
            prom.wait_for("count(job:artemis_auth_failures:increase1m)", lambda v: v is not None and v >= 1,
                          timeout=10, description="the failed authentications to be scraped")
            time.sleep(2)  # two more rule evaluations with the whole burst in
            return {"requests": traffic.sent, "statuses": dict(traffic.statuses),
                    "critical_alerts": _critical_alerts(prom)}

        return self._once("quiet", run)

    def errors(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            self.quiet()
            admin = self.stack.target.admin
            assert admin is not None
            admin.set(error_ratio=ERROR_RATIO)
            try:
                with Traffic(self.stack.target.url, API_PATHS, seconds=ALERT_TIMEOUT_SECONDS,
                             max_requests=BURST_MAX_REQUESTS * 3) as traffic:
                    state, seconds = _wait_alert(self.stack.prom, "HighErrorRate", ALERT_TIMEOUT_SECONDS)
            finally:
                admin.reset()
            return {"state": state, "seconds": seconds, "requests": traffic.sent, "statuses": dict(traffic.statuses)}

        return self._once("errors", run)

    def auth(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            self.errors() if self.stack.target.admin is not None else self.quiet()
            traffic = Traffic(self.stack.target.url, ("/admin/faults",), seconds=ALERT_TIMEOUT_SECONDS,
                              max_requests=FAILED_AUTHS, pause=3.0 / FAILED_AUTHS,
                              headers={"Authorization": "Bearer wrong-token"})
            with traffic:
                state, seconds = _wait_alert(self.stack.prom, "SecurityBreach", ALERT_TIMEOUT_SECONDS)
            return {"state": state, "seconds": seconds, "requests": traffic.sent, "statuses": dict(traffic.statuses)}

        return self._once("auth", run)


@pytest.fixture(scope="module")
def monitoring_stack(request: pytest.FixtureRequest, artemis_config: ArtemisConfig) -> Iterator[Stack]:
    """A private reference service and Prometheus (or the session's, when given by URL); always stopped."""
    cfg = artemis_config
    if cfg.target is not None or cfg.prometheus is not None:
        yield Stack(request.getfixturevalue("artemis_target"), request.getfixturevalue("artemis_prometheus"), False)
        return
    try:
        binary = find_binary(cfg.prometheus_bin)
    except ArtemisError as err:
        pytest.skip(str(err))
    log_dir = cfg.artifacts / "services"
    target = start_reference_service(log_dir, base_env=os.environ, name="monitoring")
    server: PrometheusServer | None = None
    try:
        server = PrometheusServer(target.url, binary=binary, log_dir=log_dir, rule_paths=cfg.rules,
                                  promtool=cfg.promtool_bin).start()
        client = server.client()
        try:
            yield Stack(target, client, True, tuple(server.notes))
        finally:
            client.close()
    finally:
        if server is not None:
            server.stop()
        target.stop()


@pytest.fixture(scope="module")
def exercise(monitoring_stack: Stack) -> Exercise:
    return Exercise(monitoring_stack)


@pytest.mark.dashboards
@pytest.mark.load
def test_every_dashboard_panel_query_returns_data_after_traffic(
    dashboard_file: Path, exercise: Exercise, artemis_config: ArtemisConfig, artemis_record: Any
) -> None:
    quiet = exercise.quiet()
    dashboard = load_dashboard(dashboard_file)
    results = query_panels(dashboard, exercise.stack.prom.query)
    ctx = DashboardContext(file=display_path(dashboard_file, artemis_config.rootdir),
                           inventory=inventory_for(artemis_config))
    findings = panels_without_data(results, ctx)
    artemis_record.findings(findings)
    artemis_record.measurement("panel_queries_with_data", len(results) - len(findings), "queries",
                               limit=len(results), comparison=">=", passed=not findings,
                               requests=quiet["requests"])
    assert results, f"{ctx.file}: no Prometheus panel queries found"
    if findings:
        pytest.fail(f"{ctx.file}: {len(findings)} of {len(results)} panel queries returned no data after "
                    f"{quiet['requests']} requests:\n" + "\n".join(f"  panel {f.name}: {f.message}" for f in findings)
                    + exercise.stack.explain(), pytrace=False)


@pytest.mark.rules
@pytest.mark.load
def test_no_critical_alert_is_active_while_faults_are_off(exercise: Exercise, artemis_record: Any) -> None:
    quiet = exercise.quiet()
    artemis_record.measurement("critical_alerts_without_faults", len(quiet["critical_alerts"]), "alerts",
                               limit=0, comparison="<=", passed=not quiet["critical_alerts"],
                               active=quiet["critical_alerts"], statuses=quiet["statuses"])
    assert quiet["critical_alerts"] == [], (
        f"critical alerts active with every fault off after {quiet['requests']} requests "
        f"(statuses {quiet['statuses']}): {', '.join(quiet['critical_alerts'])}{exercise.stack.explain()}")


FAULT_ALERTS = [
    pytest.param("errors", "HighErrorRate", f"error_ratio {ERROR_RATIO}", id="error-ratio fault raises High Error Rate"),
    pytest.param("auth", "SecurityBreach", f"{FAILED_AUTHS} failed authentications in about 3 s",
                 id="failed authentications above ten a minute raise Security Breach"),
]


@pytest.mark.rules
@pytest.mark.load
@pytest.mark.parametrize(("phase", "alert", "fault"), FAULT_ALERTS)
def test_a_fault_raises_its_critical_alert(exercise: Exercise, artemis_record: Any, phase: str, alert: str,
                                           fault: str) -> None:
    if exercise.stack.target.admin is None:
        pytest.skip("the target has no fault switches (an external --artemis-target)")
    outcome = getattr(exercise, phase)()
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in alert).lstrip("_")
    artemis_record.measurement(f"{snake}_seconds_to_pending", round(outcome["seconds"], 2), "s",
                               limit=ALERT_TIMEOUT_SECONDS, comparison="<", passed=outcome["state"] != "inactive",
                               state=outcome["state"], statuses=outcome["statuses"])
    assert outcome["state"] in ("pending", "firing"), (
        f"{alert} stayed {outcome['state']} for {ALERT_TIMEOUT_SECONDS:g} s under {fault} "
        f"({outcome['requests']} requests, statuses {outcome['statuses']}){exercise.stack.explain()}")
