"""The embedded Prometheus: start, scrape, rule files (and their fallbacks), queries, alerts, errors, stop."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from pytest_artemis.clients.prom import PromClient
from pytest_artemis.errors import (
    PrometheusError,
    PrometheusQueryError,
    PrometheusUnavailableError,
    ServiceStartError,
)
from pytest_artemis.services.processes import free_port
from pytest_artemis.services.prometheus import JOB, PrometheusServer, discover_rule_files, find_binary, scrape_config
from pytest_artemis.services.target import metrics
from pytest_artemis.services.target.control import Target
from pytest_artemis.services.tempdirs import session_root

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs `apt-get install prometheus`")

GOOD_RULES = """\
groups:
  - name: artemis-test
    rules:
      - record: artemis:http_requests:rate5s
        expr: sum(rate(artemis_http_requests_total[5s]))
      - alert: MissionAlwaysOn
        expr: vector(1)
        for: 1s
      - alert: MissionNeverOn
        expr: vector(0) > 1
"""
BAD_PROMQL = "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(up[1m])\n"


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitoring")
    (root / "rules").mkdir()
    (root / "rules" / "good.yaml").write_text(GOOD_RULES)
    (root / "rules" / "bad-promql.yml").write_text(BAD_PROMQL)
    (root / "rules" / "torn.yaml").write_text("groups: [\n")
    (root / "prometheus.yml").write_text("scrape_configs: []\n")  # not a rule file: ignored quietly
    (root / "rules" / "good.test.yaml").write_text("rule_files: [good.yaml]\ntests: []\n")
    return root


@pytest.fixture(scope="module")
def server(reference: Target, rules_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    started = PrometheusServer(reference.url, binary=find_binary(None), log_dir=tmp_path_factory.mktemp("prom"),
                               rule_paths=[rules_dir]).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def client(server: PrometheusServer) -> Iterator[PromClient]:
    prom = server.client()
    yield prom
    prom.close()


def test_started_server_scrapes_the_target_every_second(client: PromClient, reference: Target) -> None:
    (up,) = client.query(f'up{{job="{JOB}"}}')
    assert up.value == 1 and up.labels["instance"] == reference.url.removeprefix("http://")
    assert [t.health for t in client.targets()] == ["up"]
    series = client.query_range(f'up{{job="{JOB}"}}', start=time.time() - 3, step=1)
    assert len(series) == 1 and series[0].values[-1] == 1


def test_only_valid_rule_files_are_loaded_and_each_skipped_one_is_named(server: PrometheusServer,
                                                                       rules_dir: Path) -> None:
    assert server.rule_files == [rules_dir / "rules" / "good.yaml"]
    assert len(server.notes) == 2
    assert any("bad-promql.yml skipped: promtool check rules failed" in n and "parse error" in n
               for n in server.notes)
    assert any("torn.yaml skipped: not readable YAML" in n for n in server.notes)


def test_alert_states_follow_the_rules(client: PromClient) -> None:
    assert client.wait_for_alert("MissionAlwaysOn", "firing", timeout=10) == "firing"
    assert client.alert_state("MissionNeverOn") == "inactive"
    with pytest.raises(PrometheusError, match="no alerting rule named 'Nope' is loaded.*MissionAlwaysOn"):
        client.alert_state("Nope")


def test_recording_rule_and_request_counter_are_queryable(client: PromClient) -> None:
    assert {r.name for r in client.rules("record")} == {"artemis:http_requests:rate5s"}
    assert client.wait_for(f"sum({metrics.REQUESTS_TOTAL})", lambda v: v is not None and v >= 1, timeout=10)


def test_scalar_results_are_one_sample_without_labels(client: PromClient) -> None:
    (sample,) = client.query("1 + 1")
    assert (sample.labels, sample.value) == ({}, 2.0)
    assert client.query_value("absent_metric_name_xyz") is None


def test_bad_promql_raises_query_error_with_the_query_and_the_server_message(client: PromClient) -> None:
    with pytest.raises(PrometheusQueryError) as err:
        client.query("sum(rate(artemis_http_requests_total[1m])")
    assert err.value.query == "sum(rate(artemis_http_requests_total[1m])"
    assert "bad_data" in err.value.reason and "parse error" in err.value.reason
    assert "PromQL 'sum(rate(artemis_http_requests_total[1m])' failed" in str(err.value)


def test_query_value_refuses_several_series(client: PromClient) -> None:
    with pytest.raises(PrometheusQueryError, match="expected one series, got 2"):
        client.query_value('label_replace(up, "copy", "a", "", "") or label_replace(up, "copy", "b", "", "")')


def test_wait_for_timeout_shows_the_last_value_seen(client: PromClient) -> None:
    with pytest.raises(PrometheusError, match=r"timed out after 0.5 s waiting for up == 5 .*last value seen: 1$"):
        client.wait_for(f'max(up{{job="{JOB}"}})', lambda v: v == 5, timeout=0.5, description="up == 5")


def test_a_numeric_predicate_waits_through_no_data_and_times_out_naming_it(client: PromClient) -> None:
    with pytest.raises(PrometheusError, match=r"timed out after 0.3 s .*absent_metric_name_xyz.*last value seen: no data"):
        client.wait_for("absent_metric_name_xyz", lambda v: v > 0, timeout=0.3, interval=0.1)  # type: ignore[operator]


def test_unreachable_server_raises_unavailable_in_one_line_without_the_vendor_chain() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusUnavailableError) as err:
        PromClient(url, timeout=1).query("up")
    assert str(err.value) == f"Prometheus at {url} cannot be reached (GET /api/v1/query: connection refused)"
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_refused_rule_files_fall_back_to_a_start_without_them_and_stop_cleans_up(reference: Target,
                                                                                  tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_PROMQL)
    server = PrometheusServer(reference.url, binary=find_binary(None), log_dir=tmp_path, rule_paths=[tmp_path],
                              check_rules=False).start()
    try:
        assert server.rule_files == []
        assert len(server.notes) == 1 and server.notes[0].startswith("Prometheus refused the rule files")
        assert server.client().query_value(f'max(up{{job="{JOB}"}})') == 1
        workdir, pid = server.workdir, server.pid
        assert pid is not None and workdir is not None and (workdir / "tsdb").is_dir()
        assert workdir.parent == session_root(), "its private directory is under the session's temp directory"
    finally:
        server.stop()
    assert not psutil.pid_exists(pid) and not workdir.exists()
    assert not server.client().ready()


def test_a_target_that_cannot_be_scraped_fails_the_start_and_leaves_nothing_behind(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    server = PrometheusServer(nowhere, binary=find_binary(None), log_dir=tmp_path / "logs",
                              workdir_root=tmp_path)  # the server's private directory (TSDB) goes here
    with pytest.raises(ServiceStartError, match=f"Prometheus cannot scrape {nowhere}/metrics: "):
        server.start(timeout=2)
    assert server.pid is not None and not psutil.pid_exists(server.pid)
    assert list(tmp_path.glob("artemis-prometheus-*")) == []


def test_missing_binary_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrometheusUnavailableError, match=r"apt-get install prometheus"):
        find_binary(None)


def test_generated_config_scrapes_metrics_under_the_target_path() -> None:
    config = scrape_config("https://user:pw@svc.example:8443/api", [Path("/r/a.yaml")])
    job = config["scrape_configs"][0]  # type: ignore[index]
    assert job["scheme"] == "https" and job["metrics_path"] == "/api/metrics"
    assert job["static_configs"] == [{"targets": ["svc.example:8443"]}]
    assert config["global"] == {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}


def test_rule_discovery_keeps_only_files_with_top_level_groups(rules_dir: Path) -> None:
    found, notes = discover_rule_files([rules_dir])
    assert sorted(p.name for p in found) == ["bad-promql.yml", "good.yaml"]
    assert len(notes) == 1 and "torn.yaml" in notes[0]
