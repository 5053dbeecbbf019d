"""The monitoring library on its own: the kit's alerts, the guard before the stack, traffic bounds, waiting.

No Prometheus here: a stand-in answers the rules API, and a plain HTTP server on 127.0.0.1 counts what
reaches it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_artemis.clients.prom import Rule
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import TrafficRefusedError
from pytest_artemis.monitoring import KIT_ALERTS, PHASES, Exercise, LiveCheckUnavailable, MonitoringRun, Stack, Traffic
from pytest_artemis.monitoring.alerts import NOT_LOADED, wait_alerts
from pytest_artemis.monitoring.stack import NO_FAULT_SWITCHES, dashboard_files, has_metrics
from pytest_artemis.services.processes import free_port
from pytest_artemis.services.target.control import Target

ROOT = Path(__file__).resolve().parents[2]
KIT_RULES = ROOT / "manifests" / "monitoring" / "rules"


class RulesOnly:
    """A Prometheus stand-in that answers the rules API from a script of alert states over time."""

    def __init__(self, states: dict[str, list[str]]) -> None:
        self.states = states
        self.calls = 0

    def rules(self, kind: str | None = None) -> list[Rule]:
        self.calls += 1
        return [Rule("g", name, "alerting", "expr", "ok", state=seen[min(self.calls, len(seen)) - 1])
                for name, seen in self.states.items()]

    def query(self, expr: str) -> list[Any]:
        raise AssertionError(f"no query expected, got {expr!r}")


def test_the_exercise_raises_every_alert_of_the_kit_rule_files_in_a_phase_of_its_own_order() -> None:
    kit = {rule["alert"] for path in KIT_RULES.glob("*.yaml")
           for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
           for rule in group["rules"] if "alert" in rule}
    assert {c.alert for c in KIT_ALERTS} == kit
    assert [c.phase for c in KIT_ALERTS] == sorted((c.phase for c in KIT_ALERTS), key=PHASES.index)


def test_alert_checks_read_as_sentences_and_measure_seconds_to_pending_in_snake_case() -> None:
    [check] = [c for c in KIT_ALERTS if c.alert == "SystemDown"]
    assert check.id == "SystemDown goes pending when the service is down and its scrapes fail"
    assert check.measurement == "system_down_seconds_to_pending"


def test_production_is_refused_before_the_session_services_are_asked_for(tmp_path: Path) -> None:
    def services() -> tuple[Target, Any]:
        raise AssertionError("the session's target and Prometheus were asked for")

    cfg = ArtemisConfig(rootdir=tmp_path, target="http://127.0.0.1:9", prometheus="http://127.0.0.1:9",
                        environment="production")
    run = MonitoringRun(cfg, log_dir=tmp_path, base_env={})
    with pytest.raises(TrafficRefusedError, match="^live monitoring traffic refused: --artemis-environment is"):
        run.exercise(services)


def test_with_production_load_allowed_the_run_uses_the_session_services_once(tmp_path: Path) -> None:
    target, prom = Target("http://127.0.0.1:9", managed=False), RulesOnly({})
    asked: list[str] = []

    def services() -> tuple[Target, Any]:
        asked.append("services")
        return target, prom

    cfg = ArtemisConfig(rootdir=tmp_path, target=target.url, prometheus="http://127.0.0.1:9",
                        environment="production", allow_production_load=True)
    run = MonitoringRun(cfg, log_dir=tmp_path, base_env={})
    assert run.exercise(services) is run.exercise(services)
    assert run.exercise(services).stack.private is False and asked == ["services"]


def test_fault_checks_on_services_not_their_own_are_unavailable_before_any_request() -> None:
    exercise = Exercise(Stack(Target("http://127.0.0.1:9", managed=False), RulesOnly({}), private=False))  # type: ignore[arg-type]
    with pytest.raises(LiveCheckUnavailable) as err:
        exercise.alert("HighErrorRate")
    assert str(err.value) == NO_FAULT_SWITCHES
    assert "admin switches" in NO_FAULT_SWITCHES and "\n" not in NO_FAULT_SWITCHES


def test_traffic_stops_at_its_request_bound_across_every_worker(plain_server: Any) -> None:
    traffic = Traffic(plain_server.url, ("/", "/missing"), seconds=10, max_requests=25, pause=0, workers=4).wait()
    assert traffic.summary() == {"requests": 25, "statuses": {200: 13, 404: 12}}
    assert len(plain_server.requests) == 25


def test_traffic_to_nothing_counts_unanswered_requests_as_status_zero_and_ends_on_time() -> None:
    started = time.monotonic()
    traffic = Traffic(f"http://127.0.0.1:{free_port()}", seconds=0.5, max_requests=1000, pause=0.05,
                      timeout=0.2).wait()
    assert set(traffic.statuses) == {0} and traffic.sent == traffic.statuses[0] > 0
    assert time.monotonic() - started < 3


def test_metrics_are_told_from_a_plain_page(plain_server: Any) -> None:
    assert has_metrics(plain_server.url) is False, "404 on /metrics"
    plain_server.pages["/metrics"] = "<html><body>metrics dashboard</body></html>\n"
    assert has_metrics(plain_server.url) is False, "an HTML page is not the Prometheus text format"
    plain_server.pages["/metrics"] = "# TYPE up gauge\nup 1\n"
    assert has_metrics(plain_server.url) is True


def test_waiting_for_alerts_says_when_each_went_pending_and_which_never_did() -> None:
    prom = RulesOnly({"Quick": ["inactive", "pending"], "Slow": ["inactive", "inactive", "firing"],
                      "Never": ["inactive"]})
    seen = wait_alerts(prom, ["Quick", "Slow", "Never", "Unknown"], timeout=0.3, interval=0.01)  # type: ignore[arg-type]
    assert seen["Quick"][0] == "pending" and seen["Slow"][0] == "firing"
    assert 0 <= seen["Quick"][1] <= seen["Slow"][1] < 0.3
    assert seen["Never"] == ("inactive", 0.3)
    assert seen["Unknown"] == (NOT_LOADED, 0.0)


def test_dashboard_files_are_the_json_files_given_or_under_a_directory_given(tmp_path: Path) -> None:
    (tmp_path / "boards" / "nested").mkdir(parents=True)
    for name in ("boards/a.json", "boards/nested/b.json", "boards/notes.txt", "single.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    cfg = ArtemisConfig(rootdir=tmp_path, dashboards=(tmp_path / "boards", tmp_path / "single.json"))
    assert [p.relative_to(tmp_path).as_posix() for p in dashboard_files(cfg)] == [
        "boards/a.json", "boards/nested/b.json", "single.json"]
