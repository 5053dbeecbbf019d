"""Collection of the rule gate: YAML files under ``--artemis-rules`` paths become items with no test code.

* rule file (``groups:``, or PrometheusRule objects): ``promtool-check-rules`` and ``checks`` (every core
  rules check; the unknown-series check only where a series source can know the names);
* promtool test file: one ``unit[<group name>]`` item per test group;
* Prometheus config: ``promtool-check-config``;
* once per rules gate path, on its first rule file with alerts: ``alert-coverage[<gate path>]``, alert
  unit-test coverage of every rule file under the path, gated by the baseline ``alert_coverage_percent``
  (one root cause, one failure: a collection without promtool tests fails this one item, not every file);
* once per gate, on its first rule file, when some files have no series source or ``--artemis-prometheus``
  is given: ``known-series``, the gate's one info finding on what was and was not checked;
* anything else (kustomization, other manifests): not collected. Broken YAML: one failing item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.baselines import load_baselines
from pytest_artemis.checks.items import BrokenFileItem, GateItem, GateSkip, config_of
from pytest_artemis.checks.registry import checks_for
from pytest_artemis.checks.rules import promtool
from pytest_artemis.checks.rules.checks import RuleContext
from pytest_artemis.checks.rules.model import (
    YAML_SUFFIXES,
    RuleFile,
    UnitTestFile,
    classify,
    find_files,
    load_yaml,
    parse_rule_file,
    parse_unit_test_file,
)
from pytest_artemis.checks.rules.series import SeriesSources
from pytest_artemis.collect import gate_root
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import RuleError
from pytest_artemis.findings import Finding, display_path

__all__ = ["DEFAULT_ALERT_COVERAGE", "RuleGateFile", "RulesGate", "collect_file", "rules_gate", "series_sources",
           "unit_test_files"]

MARKER = "rules"
DEFAULT_ALERT_COVERAGE = 100.0
_SERIES_KEY = pytest.StashKey["SeriesSources"]()
_GATE_KEY = pytest.StashKey["RulesGate"]()


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


def series_sources(config: pytest.Config) -> SeriesSources:
    """The session's series sources (shared by the rule and dashboard gates; Prometheus asked at most once)."""
    sources = config.stash.get(_SERIES_KEY, None)
    if sources is None:
        sources = config.stash[_SERIES_KEY] = SeriesSources(config_of(config))
    return sources


@dataclass
class RulesGate:
    """Every rule and promtool test file under the rules gate paths, read once per session."""

    cfg: ArtemisConfig
    rule_files: list[tuple[Path, Path, RuleFile]] = field(default_factory=list)  # (gate path, file, rules)
    unit_files: list[UnitTestFile] = field(default_factory=list)

    @classmethod
    def scan(cls, cfg: ArtemisConfig) -> RulesGate:
        gate = cls(cfg)
        for path in find_files(cfg.rules):
            try:
                document = load_yaml(path)
                kind = classify(document)
                if kind == "unittest":
                    gate.unit_files.append(parse_unit_test_file(path, document))
            except RuleError:
                continue  # reported by the file's own item
            root = gate_root(path, cfg.rules)
            if kind == "rules" and root is not None:
                gate.rule_files.append((root, path, parse_rule_file(path, document)))
        return gate

    def paths(self) -> list[Path]:
        return [path for _, path, _ in self.rule_files]

    def coverage_root(self, path: Path) -> Path | None:
        """The gate path whose alert coverage the rule file ``path`` carries (its first rule file with alerts)."""
        resolved = path.resolve()
        hosts: dict[Path, Path] = {}
        for root, file, rules in self.rule_files:
            if rules.alerts:
                hosts.setdefault(root, file)
        return next((root for root, host in hosts.items() if host == resolved), None)

    def series_host(self, path: Path) -> bool:
        """True for the gate's first rule file, which carries the gate's word on its series sources."""
        return bool(self.rule_files) and self.rule_files[0][1] == path.resolve()

    def coverage(self, root: Path) -> promtool.GateCoverage:
        files = [(display_path(path, self.cfg.rootdir), rules) for r, path, rules in self.rule_files if r == root]
        return promtool.gate_coverage(display_path(root, self.cfg.rootdir), files, self.unit_files)


def rules_gate(config: pytest.Config) -> RulesGate:
    """The session's scan of the rules gate paths."""
    gate = config.stash.get(_GATE_KEY, None)
    if gate is None:
        gate = config.stash[_GATE_KEY] = RulesGate.scan(config_of(config))
    return gate


def unit_test_files(cfg: ArtemisConfig) -> list[UnitTestFile]:
    """Every promtool test file under the rules gate paths (for alert coverage)."""
    return RulesGate.scan(cfg).unit_files


def _promtool(cfg: ArtemisConfig) -> Path:
    try:
        return promtool.promtool_path(cfg)
    except promtool.PromtoolMissing as err:
        raise GateSkip(str(err)) from err


def _coverage_limit(cfg: ArtemisConfig) -> float:
    limit = load_baselines(cfg.baselines).for_(cfg.environment).get("alert_coverage_percent", DEFAULT_ALERT_COVERAGE)
    return DEFAULT_ALERT_COVERAGE if limit is None else float(limit)


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
            ctx = RuleContext(file=file, inventory=series_sources(self.config).for_file(self.path))
            found: list[Finding] = []
            for registered in checks_for("rules", exclude=cfg.ignore_check, groups=["core"]):
                found.extend(registered(rules, ctx))
            return found

        yield GateItem.from_parent(self, name="checks", marker=MARKER, run=run_checks)
        gate = rules_gate(self.config)
        root = gate.coverage_root(self.path)
        if root is not None and "rule-alert-untested" not in cfg.ignore_check:
            yield GateItem.from_parent(self, name=f"alert-coverage[{display_path(root, cfg.rootdir)}]", marker=MARKER,
                                       run=lambda: promtool.untested_alerts(gate.coverage(root), _coverage_limit(cfg)))
        sources = series_sources(self.config)
        if (gate.series_host(self.path) and "rule-unknown-series" not in cfg.ignore_check
                and sources.needs_notice(gate.paths())):
            yield GateItem.from_parent(self, name="known-series", marker=MARKER, run=lambda: sources.notice(
                "rule-unknown-series", gate.paths(), "rule file", "rules gate"))

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
