"""The rule gate end to end: rule files, promtool tests and configs as items, with no test code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

KIT = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"


def _verdict(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _copy(pytester: pytest.Pytester, source: Path, name: str) -> Path:
    target = pytester.path / name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)
    return target


def test_the_kit_passes_the_rule_gate(pytester: pytest.Pytester) -> None:
    pytester.mkdir("manifests")
    _copy(pytester, KIT, "manifests/monitoring")  # the kit's layout: its own files use the kit's inventory
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest("--artemis-rules", "manifests/monitoring", "--artemis-verdict", str(verdict), "-p",
                                "no:cacheprovider", "-rA")
    outcomes = result.parseoutcomes()
    assert "failed" not in outcomes and outcomes["passed"] >= 18, result.stdout.str()
    result.stdout.fnmatch_lines(["*prometheus.yml::promtool-check-config*",
                                 "*artemis-alerts.yaml::alert-coverage[[]manifests/monitoring[]]*",
                                 "*unit[[]security breach*"])
    assert "known-series" not in result.stdout.str()  # every file was checked: nothing to say
    data = _verdict(verdict)
    coverage = [m for m in data["measurements"] if m["name"] == "alert_coverage_percent"]
    assert coverage and coverage[0]["value"] == 100.0 and coverage[0]["details"]["alerts"] == 7
    assert [f for f in data["findings"] if f["severity"] != "info"] == []


def test_broken_yaml_is_one_failing_item_naming_the_line(pytester: pytest.Pytester, data_dir: Path) -> None:
    rules = pytester.mkdir("rules")
    shutil.copy(data_dir / "rules" / "broken.yaml", rules / "broken.yaml")
    shutil.copy(data_dir / "rules" / "clean.yaml", rules / "clean.yaml")
    result = pytester.runpytest("--artemis-rules", "rules", "--artemis-ignore-check", "rule-alert-untested",
                                "--artemis-ignore-check", "rule-unknown-series", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(["*rule-yaml-invalid*broken.yaml line * column *: not valid YAML*"])


def test_each_promtool_test_group_is_its_own_item_with_promtool_message(
    pytester: pytest.Pytester, data_dir: Path
) -> None:
    _copy(pytester, data_dir / "rules" / "unit", "unit")
    result = pytester.runpytest("--artemis-rules", "unit", "--artemis-ignore-check", "rule-alert-untested",
                                "--artemis-ignore-check", "rule-unknown-series", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*promtool-unit-test: test group 'shop down expectation that is wrong' failed:*",
        "*got:[[][]]*",
        "PASSED unit/tests/shop-test.yaml::unit[[]shop down fires after a minute[]]",
        "FAILED unit/tests/shop-test.yaml::unit[[]shop down expectation that is wrong[]]*",
    ])


def test_alert_coverage_below_the_baseline_fails_naming_the_untested_alert(
    pytester: pytest.Pytester, data_dir: Path
) -> None:
    _copy(pytester, data_dir / "rules" / "unit", "unit")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest("--artemis-rules", "unit", "--artemis-verdict", str(verdict), "-p",
                                "no:cacheprovider", "-k", "coverage")
    result.assert_outcomes(failed=1, deselected=5)
    result.stdout.fnmatch_lines([
        ("*[[]critical[]] rule-alert-untested: alert coverage of unit 50% < baseline 100% (1 of 2 alerts in 1 rule "
        "file(s) unit-tested)"),
        "unit/rules/shop.yaml alert/ShopSlow",
        "*[[]info[]] rule-alert-untested: alert ShopSlow has no promtool alert_rule_test",
    ])
    (measurement,) = _verdict(verdict)["measurements"]
    assert measurement["value"] == 50.0 and measurement["passed"] is False
    assert measurement["details"]["untested"] == ["ShopSlow"]


def test_a_lower_coverage_baseline_lets_half_tested_rules_pass(pytester: pytest.Pytester, data_dir: Path) -> None:
    _copy(pytester, data_dir / "rules" / "unit", "unit")
    pytester.makefile(".yaml", baselines="version: 1\ndefaults: {p95_ms: 1000, p99_ms: 2000, "
                      "error_rate_percent: 1, throughput_rps: 1, availability_percent: 99, "
                      "alert_coverage_percent: 50}\n")
    result = pytester.runpytest("--artemis-rules", "unit", "--artemis-baselines", "baselines.yaml", "-p",
                                "no:cacheprovider", "-k", "coverage")
    result.assert_outcomes(passed=1, deselected=5)


def test_a_prometheus_config_is_checked_with_promtool(pytester: pytest.Pytester) -> None:
    pytester.mkdir("conf")
    (pytester.path / "conf" / "prometheus.yml").write_text(
        "global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: x\n    scrape_intervall: 5s\n"
        "    static_configs: [{targets: ['a:80']}]\n")
    result = pytester.runpytest("--artemis-rules", "conf", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*promtool-check-config: promtool check config failed:*",
                                 "*field scrape_intervall not found*"])


def test_files_that_are_neither_rules_nor_tests_nor_configs_are_not_collected(pytester: pytest.Pytester) -> None:
    pytester.mkdir("kit")
    (pytester.path / "kit" / "kustomization.yaml").write_text("resources: [prometheus.yml]\n")
    (pytester.path / "kit" / "notes.txt").write_text("nothing\n")
    result = pytester.runpytest("--artemis-rules", "kit", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_findings_reach_the_verdict_file_in_the_finding_shape(pytester: pytest.Pytester, data_dir: Path) -> None:
    _copy(pytester, data_dir / "rules" / "bad_promql.yaml", "bad.yaml")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest("--artemis-rules", "bad.yaml", "--artemis-verdict", str(verdict), "-p",
                                "no:cacheprovider", "--artemis-ignore-check", "rule-unknown-series")
    result.assert_outcomes(failed=2)  # promtool and the PromQL check both reject it
    checks = {f["check"]: f for f in _verdict(verdict)["findings"]}
    assert set(checks) == {"promtool-check-rules", "rule-promql-invalid"}
    finding = checks["rule-promql-invalid"]
    assert finding["file"] == "bad.yaml" and finding["kind"] == "record" and finding["name"] == "job:requests:rate5m"
    assert finding["severity"] == "critical" and finding["fix"]


def test_warnings_fail_the_gate_only_with_fail_on_warning(pytester: pytest.Pytester, data_dir: Path) -> None:
    _copy(pytester, data_dir / "rules" / "record_name.yaml", "naming.yaml")
    pytester.runpytest("--artemis-rules", "naming.yaml", "-p", "no:cacheprovider").assert_outcomes(passed=3)
    strict = pytester.runpytest("--artemis-rules", "naming.yaml", "--artemis-fail-on", "warning", "-p",
                                "no:cacheprovider")
    strict.assert_outcomes(passed=2, failed=1)  # known-series says info only: it fails nothing
    strict.stdout.fnmatch_lines(["*[[]warning[]] rule-record-name: name 'requests_rate5m'*"])


def test_an_inventory_file_makes_third_party_series_known(pytester: pytest.Pytester, data_dir: Path) -> None:
    _copy(pytester, data_dir / "rules" / "unknown_series.yaml", "shop.yaml")
    pytester.makefile(".txt", metrics="# TYPE shop_orders counter\nshop_orders_total 3\n", other="other_total\n")
    args = ["--artemis-rules", "shop.yaml", "--artemis-fail-on", "warning", "-p", "no:cacheprovider"]
    pytester.runpytest(*args, "--artemis-metric-inventory", "other.txt").assert_outcomes(passed=1, failed=1)
    pytester.runpytest(*args, "--artemis-metric-inventory", "metrics.txt").assert_outcomes(passed=2)


def test_without_promtool_the_promtool_items_are_skipped_with_how_to_install(
    pytester: pytest.Pytester, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy(pytester, data_dir / "rules" / "clean.yaml", "clean.yaml")
    monkeypatch.setenv("PATH", str(pytester.path))
    result = pytester.runpytest("--artemis-rules", "clean.yaml", "--artemis-ignore-check", "rule-alert-untested",
                                "--artemis-ignore-check", "rule-unknown-series", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*promtool not found on PATH; install Prometheus*"])


def test_prometheus_rule_objects_are_gated_like_rule_files(pytester: pytest.Pytester, data_dir: Path) -> None:
    crd = pytester.mkdir("crd")
    shutil.copy(data_dir / "rules" / "prometheusrule.yaml", crd / "prometheusrule.yaml")
    shutil.copy(data_dir / "rules" / "deployment.yaml", crd / "deployment.yaml")
    result = pytester.runpytest("--artemis-rules", "crd", "--artemis-ignore-check", "rule-alert-untested",
                                "--artemis-ignore-check", "rule-unknown-series", "--artemis-fail-on", "warning",
                                "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1, failed=1)  # deployment.yaml (other manifests) is not collected
    result.stdout.fnmatch_lines([
        "*[[]warning[]] rule-alert-severity: labels.severity missing*",
        "PASSED crd/prometheusrule.yaml::promtool-check-rules",
        "FAILED crd/prometheusrule.yaml::checks*",
    ])
