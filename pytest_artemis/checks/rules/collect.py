"""Collection of the rule gate: YAML files under ``--artemis-rules`` paths become items with no test code.

* rule file (``groups:``, or PrometheusRule objects): ``promtool-check-rules``, ``checks`` (every core
  rules check) and, when it has alerts, ``alert-coverage`` (a measurement gated by the baseline
  ``alert_coverage_percent``);
* promtool test file: one ``unit[<group name>]`` item per test group;
* Prometheus config: ``promtool-check-config``;
* anything else (kustomization, other manifests): not collected. Broken YAML: one failing item.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.baselines import load_baselines
from pytest_artemis.checks.items import BrokenFileItem, GateItem, GateSkip, config_of
from pytest_artemis.checks.registry import REGISTRY, checks_for
from pytest_artemis.checks.rules import promtool
from pytest_artemis.checks.rules.checks import RuleContext
from pytest_artemis.checks.rules.inventory import inventory_for
from pytest_artemis.checks.rules.model import (
    YAML_SUFFIXES,
    UnitTestFile,
    classify,
    find_files,
    load_yaml,
    parse_rule_file,
    parse_unit_test_file,
)
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import RuleError
from pytest_artemis.findings import Finding, display_path

__all__ = ["DEFAULT_ALERT_COVERAGE", "RuleGateFile", "collect_file", "unit_test_files"]

MARKER = "rules"
DEFAULT_ALERT_COVERAGE = 100.0


def collect_file(file_path: Path, parent: Any, cfg: ArtemisConfig) -> pytest.Collector | None:
    """The rule gate's collector for ``file_path``, or None when it is no rules-gate file."""
    if file_path.suffix not in YAML_SUFFIXES:
        return None
    try:
        kind: str = classify(load_yaml(file_path))
    except RuleError:
        kind = "broken"
    if kind == "other":
        return None
    return RuleGateFile.from_parent(parent, path=file_path)


def unit_test_files(cfg: ArtemisConfig) -> list[UnitTestFile]:
    """Every promtool test file under the rules gate paths (for alert coverage)."""
    return list(_unit_test_files(tuple(p.resolve() for p in cfg.rules)))


@lru_cache(maxsize=8)
def _unit_test_files(roots: tuple[Path, ...]) -> tuple[UnitTestFile, ...]:
    found = []
    for path in find_files(roots):
        try:
            document = load_yaml(path)
            if classify(document) == "unittest":
                found.append(parse_unit_test_file(path, document))
        except RuleError:
            continue  # reported by the file's own item
    return tuple(found)


def _promtool(cfg: ArtemisConfig) -> Path:
    try:
        return promtool.promtool_path(cfg)
    except promtool.PromtoolMissing as err:
        raise GateSkip(str(err)) from err


class RuleGateFile(pytest.File):
    """A rules-gate YAML file."""

    def collect(self) -> Iterator[pytest.Item]:
        cfg = config_of(self)
        file = display_path(self.path, cfg.rootdir)
        try:
            document = load_yaml(self.path)
        except RuleError as err:
            yield BrokenFileItem.from_parent(self, name="yaml", error=err, check_id="rule-yaml-invalid",
                                             file=file, marker=MARKER)
            return
        kind = classify(document)
        if kind == "rules":
            yield from self._rule_items(cfg, document, file)
        elif kind == "unittest":
            yield from self._unit_items(cfg, document, file)
        elif kind == "config":
            yield GateItem.from_parent(self, name="promtool-check-config", marker=MARKER, run=lambda: (
                promtool.check_config(_promtool(cfg), self.path, file, document)))

    def _rule_items(self, cfg: ArtemisConfig, document: Any, file: str) -> Iterator[pytest.Item]:
        rules = parse_rule_file(self.path, document)
        yield GateItem.from_parent(self, name="promtool-check-rules", marker=MARKER,
                                   run=lambda: promtool.check_rules(_promtool(cfg), self.path, file, document))

        def run_checks() -> list[Finding]:
            ctx = RuleContext(file=file, inventory=inventory_for(cfg))
            found: list[Finding] = []
            for registered in checks_for("rules", exclude=cfg.ignore_check, groups=["core"]):
                found.extend(registered(rules, ctx))
            return found

        yield GateItem.from_parent(self, name="checks", marker=MARKER, run=run_checks)
        if rules.alerts and "rule-alert-untested" not in cfg.ignore_check:

            def run_coverage() -> list[Finding]:
                coverage = promtool.alert_coverage(rules, unit_test_files(cfg), file)
                limit = load_baselines(cfg.baselines).for_(cfg.environment).get(
                    "alert_coverage_percent", DEFAULT_ALERT_COVERAGE)
                limit = DEFAULT_ALERT_COVERAGE if limit is None else float(limit)
                figure = Finding(
                    check="rule-alert-untested", severity=REGISTRY["rule-alert-untested"].severity,
                    message=f"alert coverage {coverage.percent:g}% {'>=' if coverage.percent >= limit else '<'} "
                            f"{limit:g}% ({len(coverage.tested)} of {len(coverage.alerts)} alerts unit-tested)",
                    file=file, figure="alert_coverage_percent", value=coverage.percent, limit=limit, unit="%",
                    comparison=">=", status="pass" if coverage.percent >= limit else "fail",
                    details={"alerts": len(coverage.alerts), "tested": list(coverage.tested),
                             "untested": coverage.untested, "test_files": [display_path(Path(p), cfg.rootdir)
                                                                           for p in coverage.test_files]})
                return [*promtool.untested_alerts(coverage, limit, file), figure]

            yield GateItem.from_parent(self, name="alert-coverage", marker=MARKER, run=run_coverage)

    def _unit_items(self, cfg: ArtemisConfig, document: Any, file: str) -> Iterator[pytest.Item]:
        try:
            tests = parse_unit_test_file(self.path, document)
        except RuleError as err:
            yield BrokenFileItem.from_parent(self, name="unit", error=err, check_id="promtool-unit-test",
                                             file=file, marker=MARKER)
            return
        seen: set[str] = set()
        for index in range(len(tests.groups)):
            name = tests.group_name(index)
            name = name if name not in seen else f"{name} #{index + 1}"
            seen.add(name)
            yield GateItem.from_parent(
                self, name=f"unit[{name}]", marker=MARKER,
                run=lambda index=index: promtool.unit_test_group(_promtool(cfg), tests, index, file))


