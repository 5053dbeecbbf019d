"""The rule gate on public-style rule collections: no finding the gate cannot back, one root cause one failure.

The corpus (``tests/data/rules/public``) is written in the shapes of widely used collections (kube-prometheus
general rules, the node exporter mixin, mysqld_exporter alerts, the ingress-nginx PrometheusRule); promtool
accepts every file and there are no promtool tests. With no inventory the gate fails one item (coverage) and
says once that series were not checked; with an inventory or a live Prometheus unknown series are found.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from servers import serving

from pytest_artemis.checks.rules.inventory import parse_inventory_text

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "manifests" / "monitoring"
NOT_CHECKED = "series not checked for 4 rule files: no inventory or Prometheus given"

#: Every finding of the public rules with no inventory: the opinions the files really break, and the gate's word.
WITHOUT_INVENTORY = [
    ("rule-alert-severity", "info", "rules/general.yaml", "InfoInhibitor",
     "labels.severity is 'none'; the gate knows critical, warning, info"),
    ("rule-alert-severity", "info", "rules/general.yaml", "Watchdog",
     "labels.severity is 'none'; the gate knows critical, warning, info"),
    ("rule-alert-untested", "critical", "rules", "",
     ("alert coverage of rules 0% < baseline 100%: no promtool test file under the rules gate paths loads any of its "
     "4 rule file(s) (18 alerts untested)")),
    ("rule-unknown-series", "info", "", "rules gate", NOT_CHECKED),
    ("rule-alert-runbook-missing", "info", "rules/ingress-nginx/prometheusrule.yaml", "NGINXCertificateExpiry",
     "annotations.runbook_url missing"),
    ("rule-alert-runbook-missing", "info", "rules/ingress-nginx/prometheusrule.yaml", "NGINXConfigFailed",
     "annotations.runbook_url missing"),
    ("rule-alert-runbook-missing", "info", "rules/ingress-nginx/prometheusrule.yaml", "NGINXTooMany500s",
     "annotations.runbook_url missing"),
    ("rule-alert-for-missing", "warning", "rules/mysql/mysqld-exporter.yml", "MysqlSlaveSqlThreadNotRunning",
     "severity critical but 'for: 0m'"),
    *(("rule-alert-runbook-missing", "info", "rules/mysql/mysqld-exporter.yml", name, "annotations.runbook_url missing")
      for name in ("MySQLDown", "MySQLReplicationLag", "MysqlSlaveSqlThreadNotRunning", "MysqlSlowQueries",
                   "MysqlTooManyConnections(>80%)")),
]
#: The series a scrape of node_exporter and mysqld_exporter never yields: the ingress controller's.
INGRESS_UNKNOWN = [
    ("NGINXCertificateExpiry", "nginx_ingress_controller_ssl_expire_time_seconds"),
    ("NGINXConfigFailed", "nginx_ingress_controller_config_last_reload_successful"),
    ("NGINXTooMany500s", "nginx_ingress_controller_requests"),
    ("ingress:nginx_ingress_controller_requests:rate2m", "nginx_ingress_controller_requests"),
]


def _verdict(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _rows(verdict: dict[str, Any], *checks: str) -> list[tuple[str, ...]]:
    return [(f["check"], f["severity"], f["file"], f["name"], f["message"]) for f in verdict["findings"]
            if not checks or f["check"] in checks]


def _outcomes(verdict: dict[str, Any]) -> dict[str, str]:
    return {t["nodeid"]: t["outcome"] for t in verdict["tests"]}


@pytest.fixture
def public(pytester: pytest.Pytester, data_dir: Path) -> pytest.Pytester:
    """The public rules as ``rules/``, their exporters' saved /metrics page as ``metrics.txt`` beside them."""
    shutil.copytree(data_dir / "rules" / "public", pytester.path / "rules")
    shutil.copy(data_dir / "rules" / "public-inventory.txt", pytester.path / "metrics.txt")
    return pytester


@dataclass
class FakePrometheus:
    """A Prometheus HTTP API that answers the metric-name list and counts what was asked."""

    names: list[str]
    paths: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def fake_prometheus(data_dir: Path) -> Iterator[FakePrometheus]:
    """A Prometheus that scrapes node_exporter and mysqld_exporter (the names of the saved /metrics page)."""
    text = (data_dir / "rules" / "public-inventory.txt").read_text(encoding="utf-8")
    fake = FakePrometheus(sorted(parse_inventory_text(text)))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.paths.append(self.path)
            ok = self.path == "/api/v1/label/__name__/values"
            body = json.dumps({"status": "success", "data": fake.names} if ok else
                              {"status": "error", "errorType": "not_found", "error": "no such path"}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as fake.url:
        yield fake


def test_public_rules_without_an_inventory_fail_only_the_one_coverage_item_and_check_no_series(
    public: pytest.Pytester,
) -> None:
    verdict = public.path / "verdict.json"
    result = public.runpytest("--artemis-rules", "rules", "-m", "rules", f"--artemis-verdict={verdict}", "-p",
                              "no:cacheprovider")
    result.assert_outcomes(passed=9, failed=1)
    data = _verdict(verdict)
    assert [n for n, outcome in _outcomes(data).items() if outcome == "failed"] == [
        "rules/general.yaml::alert-coverage[rules]"]
    assert _rows(data) == WITHOUT_INVENTORY
    result.stdout.fnmatch_lines([("*[[]critical[]] rule-alert-untested: alert coverage of rules 0% < baseline 100%: no "
                                 "promtool test file *(18 alerts untested)")])
    assert "has no promtool alert_rule_test" not in result.stdout.str(), "the one root cause, not 18 lines"


def test_the_gate_says_once_that_series_were_not_checked_and_how_to_give_a_source(public: pytest.Pytester) -> None:
    verdict = public.path / "verdict.json"
    public.runpytest("--artemis-rules", "rules", f"--artemis-verdict={verdict}", "-p", "no:cacheprovider")
    (notice,) = [f for f in _verdict(verdict)["findings"] if f["check"] == "rule-unknown-series"]
    assert notice["message"] == NOT_CHECKED and notice["severity"] == "info"
    assert notice["fix"] == ("give --artemis-metric-inventory FILE (one name a line, or a saved /metrics page) or "
                             "--artemis-prometheus URL (a Prometheus that scrapes what the files read)")
    assert notice["nodeid"] == "rules/general.yaml::known-series"


def test_the_coverage_record_keeps_every_untested_alert_with_its_file(public: pytest.Pytester) -> None:
    verdict = public.path / "verdict.json"
    public.runpytest("--artemis-rules", "rules", f"--artemis-verdict={verdict}", "-p", "no:cacheprovider",
                     "-k", "coverage")
    (measurement,) = _verdict(verdict)["measurements"]
    assert (measurement["name"], measurement["value"], measurement["limit"], measurement["passed"]) == (
        "alert_coverage_percent", 0.0, 100.0, False)
    details = measurement["details"]
    assert details["alerts"] == 18 and details["test_files"] == [] and len(details["untested"]) == 18
    assert details["untested_by_file"]["rules/general.yaml"] == ["InfoInhibitor", "TargetDown", "Watchdog"]
    assert details["rule_files"] == ["rules/general.yaml", "rules/ingress-nginx/prometheusrule.yaml",
                                     "rules/mysql/mysqld-exporter.yml", "rules/node/node-exporter.yaml"]


def test_with_some_promtool_tests_the_one_coverage_item_lists_each_untested_alert(
    public: pytest.Pytester, data_dir: Path
) -> None:
    public.mkdir("rules/tests")
    shutil.copy(data_dir / "rules" / "public-units" / "general-test.yaml", public.path / "rules/tests/general-test.yaml")
    verdict = public.path / "verdict.json"
    result = public.runpytest("--artemis-rules", "rules", f"--artemis-verdict={verdict}", "-p", "no:cacheprovider",
                              "--artemis-ignore-check", "rule-unknown-series")
    result.assert_outcomes(passed=10, failed=1)  # the two promtool test groups pass
    data = _verdict(verdict)
    assert [n for n, o in _outcomes(data).items() if o == "failed"] == ["rules/general.yaml::alert-coverage[rules]"]
    untested = _rows(data, "rule-alert-untested")
    assert untested[0] == ("rule-alert-untested", "critical", "rules", "",
                           ("alert coverage of rules 11.11% < baseline 100% (2 of 18 alerts in 4 rule file(s) "
                           "unit-tested)"))
    assert sorted((r[2], r[3]) for r in untested[1:]) == [
        ("rules/general.yaml", "InfoInhibitor"),
        *(("rules/ingress-nginx/prometheusrule.yaml", n) for n in
          ("NGINXCertificateExpiry", "NGINXConfigFailed", "NGINXTooMany500s")),
        *(("rules/mysql/mysqld-exporter.yml", n) for n in
          ("MySQLDown", "MySQLReplicationLag", "MysqlSlaveSqlThreadNotRunning", "MysqlSlowQueries",
           "MysqlTooManyConnections(>80%)")),
        *(("rules/node/node-exporter.yaml", n) for n in
          ("NodeCPUHighUsage", "NodeClockNotSynchronising", "NodeFilesystemAlmostOutOfSpace",
           "NodeFilesystemSpaceFillingUp", "NodeHighNumberConntrackEntriesUsed", "NodeMemoryHighUtilization",
           "NodeNetworkReceiveErrs")),
    ]
    assert {r[1] for r in untested[1:]} == {"info"} and all(r[4].endswith("has no promtool alert_rule_test")
                                                            for r in untested[1:])


def test_with_an_inventory_unknown_series_are_still_found_and_only_those_it_cannot_know(
    public: pytest.Pytester,
) -> None:
    verdict = public.path / "verdict.json"
    result = public.runpytest("--artemis-rules", "rules", "--artemis-metric-inventory=metrics.txt",
                              f"--artemis-verdict={verdict}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8, failed=1)  # no known-series item: every file had a source
    assert _rows(_verdict(verdict), "rule-unknown-series") == [
        ("rule-unknown-series", "warning", "rules/ingress-nginx/prometheusrule.yaml", name,
         f"reads unknown series {series} (not produced by a rule, not in the metric inventory metrics.txt)")
        for name, series in INGRESS_UNKNOWN]


def test_with_a_live_prometheus_both_gates_judge_series_against_its_names_asked_once(
    public: pytest.Pytester, data_dir: Path, fake_prometheus: FakePrometheus
) -> None:
    shutil.copytree(data_dir / "dashboards" / "public", public.path / "boards")
    verdict = public.path / "verdict.json"
    result = public.runpytest("--artemis-rules", "rules", "--artemis-dashboards", "boards",
                              f"--artemis-prometheus={fake_prometheus.url}", f"--artemis-verdict={verdict}",
                              "-p", "no:cacheprovider", "-m", "rules or dashboards")
    result.assert_outcomes(passed=13, failed=1, skipped=3)  # known-series of each gate; theme items skipped
    data = _verdict(verdict)
    source = f"the names of Prometheus at {fake_prometheus.url}"
    assert _rows(data, "rule-unknown-series") == [
        ("rule-unknown-series", "warning", "rules/ingress-nginx/prometheusrule.yaml", name,
         f"reads unknown series {series} (not produced by a rule, not in {source})")
        for name, series in INGRESS_UNKNOWN]
    unknown_panels = {(f["file"], f["name"]) for f in data["findings"] if f["check"] == "dashboard-query-unknown-series"}
    assert {file for file, _ in unknown_panels} == {"boards/ingress-nginx.json"}
    assert fake_prometheus.paths == ["/api/v1/label/__name__/values"], "asked once per session"


def test_the_known_series_item_records_what_the_live_prometheus_answered(
    public: pytest.Pytester, fake_prometheus: FakePrometheus
) -> None:
    verdict = public.path / "verdict.json"
    result = public.runpytest("--artemis-rules", "rules", f"--artemis-prometheus={fake_prometheus.url}",
                              f"--artemis-verdict={verdict}", "-p", "no:cacheprovider", "-k", "known", "-rA")
    result.assert_outcomes(passed=1, deselected=9)
    data = _verdict(verdict)
    assert [t["nodeid"] for t in data["tests"]] == ["rules/general.yaml::known-series"]
    assert data["findings"] == [], "a Prometheus that answered is a figure, not a problem"
    (measurement,) = data["measurements"]
    assert (measurement["name"], measurement["value"], measurement["unit"], measurement["status"]) == (
        "known_series_names", len(fake_prometheus.names), "names", "info")
    assert measurement["details"]["message"] == (
        f"series of 4 rule files checked against the {len(fake_prometheus.names)} metric names of Prometheus at "
        f"{fake_prometheus.url}")


def test_an_unreachable_prometheus_is_said_in_one_line_and_the_gate_goes_on(public: pytest.Pytester) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    verdict = public.path / "verdict.json"
    result = public.runpytest("--artemis-rules", "rules", f"--artemis-prometheus={url}",
                              f"--artemis-verdict={verdict}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9, failed=1)
    (notice,) = [f for f in _verdict(verdict)["findings"] if f["check"] == "rule-unknown-series"]
    assert notice["severity"] == "info" and "\n" not in notice["message"]
    assert notice["message"].startswith(f"Prometheus at {url} unreachable (")
    assert notice["message"].endswith("): series not checked for 4 rule files; the gate goes on")


def test_the_kits_own_files_keep_the_kits_inventory_and_a_misspelt_series_is_found(pytester: pytest.Pytester) -> None:
    kit = pytester.path / "manifests" / "monitoring"
    shutil.copytree(KIT, kit)
    recording = kit / "rules" / "artemis-recording.yaml"
    text = recording.read_text(encoding="utf-8")
    assert "increase(artemis_auth_failures_total[1m])" in text
    recording.write_text(text.replace("increase(artemis_auth_failures_total[1m])",
                                      "increase(artemis_auth_failure_total[1m])"), encoding="utf-8")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest("-m", "rules", "-k", "checks", f"--artemis-verdict={verdict}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)  # a warning: it fails nothing at the default --artemis-fail-on critical
    rows = _rows(_verdict(verdict), "rule-unknown-series")
    assert [(r[1], r[2], r[4]) for r in rows] == [
        ("warning", "manifests/monitoring/rules/artemis-recording.yaml",
         ("reads unknown series artemis_auth_failure_total (not produced by a rule, not in the kit's inventory "
         "(reference service metrics, manifests/monitoring/inventory.txt))"))]


def test_another_projects_default_paths_are_not_the_kit(pytester: pytest.Pytester, data_dir: Path) -> None:
    pytester.mkdir("manifests")
    shutil.copytree(data_dir / "rules" / "public" / "mysql", pytester.path / "manifests" / "monitoring")
    verdict = pytester.path / "verdict.json"
    pytester.runpytest("-m", "rules", f"--artemis-verdict={verdict}", "-p", "no:cacheprovider")
    assert _rows(_verdict(verdict), "rule-unknown-series") == [
        ("rule-unknown-series", "info", "", "rules gate",
         "series not checked for 1 rule file: no inventory or Prometheus given")]
