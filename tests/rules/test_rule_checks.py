"""Table-driven tests of the Python-side rule checks: one small rule file, one expected finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_artemis.checks.registry import checks_for
from pytest_artemis.checks.rules.checks import RuleContext
from pytest_artemis.checks.rules.inventory import build_inventory
from pytest_artemis.checks.rules.model import load_yaml, parse_rule_file
from pytest_artemis.findings import Finding


def run_core_checks(path: Path) -> list[Finding]:
    rules = parse_rule_file(path, load_yaml(path))
    ctx = RuleContext(file=path.name, inventory=build_inventory(()))
    return [f for c in checks_for("rules", groups=["core"]) for f in c(rules, ctx)]


CASES = [
    pytest.param("bad_promql.yaml", "rule-promql-invalid", "critical", "unclosed left parenthesis",
                 id="bad PromQL is critical"),
    pytest.param("record_name.yaml", "rule-record-name", "warning", "'requests_rate5m' has 1 colon-separated part",
                 id="a recording rule without level:metric:operations is a warning"),
    pytest.param("missing_severity.yaml", "rule-alert-severity", "warning", "labels.severity missing",
                 id="an alert without severity is a warning"),
    pytest.param("wrong_severity.yaml", "rule-alert-severity", "info", "labels.severity is 'page'",
                 id="a severity outside critical, warning, info is a routing convention: info"),
    pytest.param("missing_annotations.yaml", "rule-alert-annotations", "warning", "annotations missing: description",
                 id="an alert without description is a warning"),
    pytest.param("critical_without_for.yaml", "rule-alert-for-missing", "warning", "severity critical but no 'for'",
                 id="a critical alert without for is a warning"),
    pytest.param("no_runbook.yaml", "rule-alert-runbook-missing", "info", "runbook_url missing",
                 id="an alert without runbook is info"),
    pytest.param("duplicate.yaml", "rule-name-duplicate", "warning",
                 "'job:requests:rate5m' defined twice with the same labels (groups 'first' and 'second')",
                 id="two rules writing the same series are a warning"),
    pytest.param("unknown_series.yaml", "rule-unknown-series", "warning", "reads unknown series shop_orders_total",
                 id="a series neither recorded nor in the inventory is a warning"),
    pytest.param("structure.yaml", "rule-structure-invalid", "critical", "group #1: a rule group needs a 'name'",
                 id="a group without name is critical"),
]


@pytest.mark.parametrize(("file", "check_id", "severity", "message"), CASES)
def test_rule_check_reports_the_problem_of_its_file(data_dir: Path, file: str, check_id: str, severity: str,
                                                    message: str) -> None:
    findings = run_core_checks(data_dir / "rules" / file)
    assert {f.check for f in findings} == {check_id}, [(f.check, f.message) for f in findings]
    assert all(f.severity == severity for f in findings)
    assert any(message in f.message for f in findings), [f.message for f in findings]
    assert all(f.file == file and f.fix for f in findings)


def test_a_clean_rule_file_has_no_findings(data_dir: Path) -> None:
    assert run_core_checks(data_dir / "rules" / "clean.yaml") == []


def test_series_recorded_in_the_same_file_are_known(data_dir: Path) -> None:
    findings = run_core_checks(data_dir / "rules" / "unknown_series.yaml")
    assert [f.name for f in findings] == ["job:orders:rate5m"]


def test_findings_name_the_group_and_the_rule(data_dir: Path) -> None:
    (finding,) = run_core_checks(data_dir / "rules" / "missing_severity.yaml")
    assert (finding.kind, finding.namespace, finding.name) == ("alert", "alerts", "TargetMissing")


def test_the_kit_rules_have_no_findings() -> None:
    root = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"
    inventory = build_inventory((root,))
    for path in sorted((root / "rules").glob("*.yaml")):
        rules = parse_rule_file(path, load_yaml(path))
        ctx = RuleContext(file=path.name, inventory=inventory)
        assert [(f.check, f.message) for c in checks_for("rules", groups=["core"]) for f in c(rules, ctx)] == []
