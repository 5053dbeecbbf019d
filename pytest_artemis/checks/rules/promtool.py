"""promtool runs of the rule gate: ``check rules``, ``check config``, ``test rules`` per test group, coverage.

promtool is the Prometheus project's own validator, so what it accepts Prometheus loads. Each run
is a bounded child process; its output becomes one finding with promtool's message. Alert coverage
(alerts with at least one ``alert_rule_test`` / all alerts, per rule file and per rules gate path) is
computed here too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_artemis.checks.registry import REGISTRY, check
from pytest_artemis.checks.rules.model import PrometheusRuleGroups, RuleFile, UnitTestFile
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import RuleError
from pytest_artemis.findings import Finding, Status

__all__ = [
    "TIMEOUT_SECONDS",
    "Coverage",
    "GateCoverage",
    "PromtoolMissing",
    "alert_coverage",
    "check_config",
    "check_rules",
    "gate_coverage",
    "promtool_path",
    "run_promtool",
    "unit_test_group",
    "untested_alerts",
]

TIMEOUT_SECONDS = 60
_UNSUPPORTED_SD = re.compile(r"field (\w+_sd_configs) not found in type config\.ScrapeConfig")


class PromtoolMissing(RuleError):
    """No promtool binary: the promtool items are skipped with this message."""


def promtool_path(cfg: ArtemisConfig) -> Path:
    """The promtool binary: --artemis-promtool-bin, else 'promtool' on PATH."""
    if cfg.promtool_bin is not None:
        return cfg.promtool_bin
    found = shutil.which("promtool")
    if found is None:
        raise PromtoolMissing("promtool not found on PATH; install Prometheus (Debian: apt-get install prometheus) "
                              "or pass --artemis-promtool-bin")
    return Path(found)


def run_promtool(binary: Path, *args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run promtool; (exit code, combined output). RuleError when it cannot run or hangs."""
    try:
        done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                              cwd=cwd, env={**os.environ, "NO_COLOR": "1"}, check=False)
    except subprocess.TimeoutExpired as err:
        raise RuleError(f"promtool {' '.join(args)} did not finish within {TIMEOUT_SECONDS} s") from err
    except OSError as err:
        raise RuleError(f"cannot run promtool at {binary}: {err.strerror}") from err
    return done.returncode, (done.stdout + done.stderr).strip()


def _finding(check_id: str, file: str, message: str, name: str = "", severity: str | None = None,
             kind: str = "", fix: str | None = None) -> Finding:
    registered = REGISTRY[check_id]
    return Finding(check=check_id, severity=severity or registered.severity,  # type: ignore[arg-type]
                   message=message, kind=kind, name=name, file=file, fix=registered.fix if fix is None else fix)


def _tidy(output: str, replacements: Mapping[str, str] = {}) -> str:
    for old, new in replacements.items():
        output = output.replace(old, new)
    lines = [line.rstrip() for line in output.splitlines()
             if line.strip() and not line.startswith("Unit Testing:")]
    return "\n".join(lines)


@check("promtool-check-rules", area="rules", target="rule file", severity="critical", group="promtool",
       fix="fix what promtool reports; Prometheus refuses to load a rule file promtool rejects")
def check_rules(binary: Path, path: Path, file: str, document: Any = None) -> list[Finding]:
    """promtool check rules rejects the rule file."""
    if not isinstance(document, PrometheusRuleGroups):
        code, output = run_promtool(binary, "check", "rules", str(path))
    else:  # PrometheusRule objects: promtool reads their rule groups as a plain rule file
        with tempfile.TemporaryDirectory(prefix="artemis-rules-") as tmp:
            copy = Path(tmp) / path.name
            copy.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
            code, output = run_promtool(binary, "check", "rules", str(copy))
            output = output.replace(str(copy), f"{file} (spec.groups of its PrometheusRule objects)")
    if code == 0:
        return []
    return [_finding("promtool-check-rules", file, "promtool check rules failed:\n" + _tidy(output))]


def _strip_sd(document: Any, base: Path, unsupported: set[str]) -> dict[str, Any]:
    """A copy of a Prometheus config without the unsupported SD stanzas, file paths made absolute."""
    doc = dict(document)
    doc["rule_files"] = [str(base / str(p)) for p in doc.get("rule_files") or []]
    configs = []
    for scrape in doc.get("scrape_configs") or []:
        scrape = {k: v for k, v in dict(scrape).items() if k not in unsupported}
        for sd in scrape.get("file_sd_configs") or []:
            sd["files"] = [str(base / str(f)) for f in sd.get("files") or []]
        configs.append(scrape)
    doc["scrape_configs"] = configs
    return doc


@check("promtool-check-config", area="rules", target="Prometheus config", severity="critical", group="promtool",
       fix="fix what promtool reports; Prometheus does not start with a config promtool rejects")
def check_config(binary: Path, path: Path, file: str, document: Any) -> list[Finding]:
    """promtool check config rejects the Prometheus configuration (and the rule files it names)."""
    code, output = run_promtool(binary, "check", "config", str(path))
    if code == 0:
        return []
    unsupported = set(_UNSUPPORTED_SD.findall(output))
    if not unsupported or not isinstance(document, Mapping):
        return [_finding("promtool-check-config", file, "promtool check config failed:\n" + _tidy(output))]
    # Some distribution builds of promtool leave out service discoveries (Debian: kubernetes, consul).
    # Check everything else and say what could not be checked.
    findings = [_finding("promtool-check-config", file, severity="info", fix="", message=(
        f"{binary} was built without {', '.join(sorted(unsupported))}; those stanzas were not checked, "
        "the rest of the config was"))]
    with tempfile.TemporaryDirectory(prefix="artemis-config-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_text(yaml.safe_dump(_strip_sd(document, path.parent.resolve(), unsupported)), encoding="utf-8")
        code, output = run_promtool(binary, "check", "config", str(copy))
        if code != 0:
            findings.append(_finding("promtool-check-config", file, "promtool check config failed:\n"
                                     + _tidy(output, {str(copy): file})))
    return findings


@check("promtool-unit-test", area="rules", target="promtool test group", severity="critical", group="promtool",
       fix="fix the rule or the expectation; promtool's message shows expected and actual series")
def unit_test_group(binary: Path, tests: UnitTestFile, index: int, file: str) -> list[Finding]:
    """A promtool unit-test group fails (promtool test rules)."""
    name = tests.group_name(index)
    if not isinstance(tests.groups[index], Mapping):
        return [_finding("promtool-unit-test", file, f"test group #{index + 1} is not a mapping "
                         "(interval, input_series, alert_rule_test, promql_expr_test)", name=name)]
    group = dict(tests.groups[index])
    document: dict[str, Any] = {"rule_files": [str(p.resolve()) for p in tests.rule_files], "tests": [group]}
    for key in ("evaluation_interval", "group_eval_order"):
        if key in tests.document:
            document[key] = tests.document[key]
    with tempfile.TemporaryDirectory(prefix="artemis-promtool-") as tmp:
        copy = Path(tmp) / "unit-test.yaml"
        copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        code, output = run_promtool(binary, "test", "rules", str(copy), cwd=tests.path.parent)
        if code == 0:
            return []
        message = _tidy(output, {str(copy): f"{file} [{name}]"})
    return [_finding("promtool-unit-test", file, f"test group {name!r} failed:\n{message}", name=name)]


@dataclass(frozen=True)
class Coverage:
    """Alert unit-test coverage of one rule file."""

    alerts: tuple[str, ...]
    tested: tuple[str, ...]
    test_files: tuple[str, ...]

    @property
    def untested(self) -> list[str]:
        return sorted(set(self.alerts) - set(self.tested))

    @property
    def percent(self) -> float:
        return 100.0 if not self.alerts else round(100.0 * len(set(self.tested)) / len(set(self.alerts)), 2)


def alert_coverage(rules: RuleFile, unit_files: Iterable[UnitTestFile], file: str) -> Coverage:
    """Which alerts of ``rules`` appear in an alert_rule_test of a test file that loads this rule file."""
    target = rules.path.resolve()
    alerts = tuple(sorted({r.name for r in rules.alerts}))
    tested: set[str] = set()
    used: list[str] = []
    for tests in unit_files:
        if target in {p.resolve() for p in tests.rule_files}:
            tested |= tests.tested_alerts() & set(alerts)
            used.append(str(tests.path))
    return Coverage(alerts, tuple(sorted(tested)), tuple(used))


@dataclass(frozen=True)
class GateCoverage:
    """Alert unit-test coverage of one rules gate path: every alert of every rule file under it."""

    scope: str  # the gate path as shown
    files: tuple[tuple[str, Coverage], ...]  # (display path, coverage of that rule file)

    @property
    def alerts(self) -> int:
        return sum(len(c.alerts) for _, c in self.files)

    @property
    def tested(self) -> int:
        return sum(len(c.tested) for _, c in self.files)

    @property
    def untested(self) -> list[tuple[str, str]]:
        """(file, alert) of every alert no test covers."""
        return [(file, name) for file, c in self.files for name in c.untested]

    @property
    def test_files(self) -> list[str]:
        return sorted({t for _, c in self.files for t in c.test_files})

    @property
    def percent(self) -> float:
        return 100.0 if not self.alerts else round(100.0 * self.tested / self.alerts, 2)


def gate_coverage(scope: str, rule_files: Iterable[tuple[str, RuleFile]],
                  unit_files: Iterable[UnitTestFile]) -> GateCoverage:
    """Coverage of the rule files of one gate path, each against the test files that load it."""
    units = list(unit_files)
    return GateCoverage(scope, tuple((file, alert_coverage(rules, units, file)) for file, rules in rule_files
                                     if rules.alerts))


@check("rule-alert-untested", area="rules", target="rules gate path", severity="critical", group="coverage",
       fix="add an alert_rule_test (one firing and one quiet case) for each untested alert in a promtool test file "
           "under the rules gate paths",
       why="An alert nobody has seen fire may never fire. Measured once per rules gate path as "
           "alert_coverage_percent against the baseline alert_coverage_percent (100 in the bundled baselines); "
           "each untested alert is an info finding under it. Lower the baseline in --artemis-baselines to accept "
           "less.")
def untested_alerts(coverage: GateCoverage, limit: float) -> list[Finding]:
    """Alert unit-test coverage of a rules gate path is below the baseline alert_coverage_percent."""
    registered = REGISTRY["rule-alert-untested"]
    held = coverage.percent >= limit
    files = len(coverage.files)
    counted = f"{coverage.tested} of {coverage.alerts} alerts in {files} rule file(s) unit-tested"
    if not coverage.test_files and coverage.alerts:
        message = (f"alert coverage of {coverage.scope} 0% < baseline {limit:g}%: no promtool test file under the "
                   f"rules gate paths loads any of its {files} rule file(s) ({coverage.alerts} alerts untested)")
    else:
        message = (f"alert coverage of {coverage.scope} {coverage.percent:g}% {'>=' if held else '<'} baseline "
                   f"{limit:g}% ({counted})")
    figure = Finding(
        check="rule-alert-untested", severity=registered.severity, message=message, file=coverage.scope,
        fix="" if held else registered.fix, figure="alert_coverage_percent",
        value=coverage.percent, limit=limit, unit="%", comparison=">=", status="pass" if held else "fail",
        details={"alerts": coverage.alerts, "tested": sorted({n for _, c in coverage.files for n in c.tested}),
                 "untested": sorted({name for _, name in coverage.untested}),
                 "untested_by_file": {f: c.untested for f, c in coverage.files if c.untested},
                 "rule_files": [f for f, _ in coverage.files], "test_files": coverage.test_files})
    # Below the baseline each untested alert is listed under the failure; with no test at all the one
    # root cause says it, and the alerts are kept in the record without being listed one by one.
    status: Status = "info" if held or not coverage.test_files else "fail"
    detail = [
        Finding(check="rule-alert-untested", severity="info", kind="alert", name=name, file=file, status=status,
                message=f"alert {name} has no promtool alert_rule_test", fix=registered.fix)
        for file, name in coverage.untested
    ]
    return [figure, *detail]
