"""Python-side checks of Prometheus rule files (area ``rules``, group ``core``).

Each check takes a parsed :class:`~pytest_artemis.checks.rules.model.RuleFile` and a
:class:`RuleContext` and returns findings; the rule gate item runs them all and fails once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_artemis.checks.registry import REGISTRY, check
from pytest_artemis.checks.rules import promql
from pytest_artemis.checks.rules.inventory import Inventory
from pytest_artemis.checks.rules.model import Rule, RuleFile
from pytest_artemis.errors import RuleError
from pytest_artemis.findings import Finding, Severity

__all__ = ["ALERT_SEVERITIES", "RECORD_NAME", "RuleContext", "finding"]

#: Severity label values an alert may carry.
ALERT_SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
#: level:metric[:operations], each part a Prometheus name fragment.
RECORD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*(:[a-zA-Z0-9_]+)?$")


@dataclass(frozen=True)
class RuleContext:
    """What the checks of one rule file need besides the file: its display path and the inventory."""

    file: str
    inventory: Inventory


def finding(check_id: str, ctx: RuleContext, message: str, rule: Rule | None = None, *,
            severity: Severity | None = None, name: str = "") -> Finding:
    """A finding of a registered rules check about one rule (or the file when ``rule`` is None)."""
    registered = REGISTRY[check_id]
    return Finding(
        check=check_id,
        severity=severity or registered.severity,
        message=message,
        kind=rule.kind if rule else "",
        name=rule.name if rule else name,
        namespace=rule.group if rule else "",
        file=ctx.file,
        fix=registered.fix,
    )


@check("rule-structure-invalid", area="rules", target="rule file", severity="critical",
       fix="give every group a name and a rules list, and every rule 'record' or 'alert' plus 'expr'")
def structure(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """The rule file does not have the shape Prometheus reads (groups, names, rules, expr)."""
    for where, message in rules.problems:
        yield finding("rule-structure-invalid", ctx, f"{where}: {message}", name=where)


@check("rule-promql-invalid", area="rules", target="rule", severity="critical",
       fix="correct the expression; try it in the Prometheus expression browser")
def promql_parses(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A rule's expr is not valid PromQL."""
    for rule in rules.rules:
        try:
            promql.parse(rule.expr)
        except RuleError as err:
            yield finding("rule-promql-invalid", ctx, f"expr does not parse: {err} in {rule.expr.strip()!r}", rule)


@check("rule-record-name", area="rules", target="recording rule", severity="warning",
       fix="name recording rules level:metric:operations, e.g. job:http_requests:rate5m")
def record_name(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A recording rule's name does not follow level:metric:operations."""
    for rule in rules.records:
        if not RECORD_NAME.match(rule.name):
            parts = rule.name.count(":") + 1 if ":" in rule.name else 1
            yield finding("rule-record-name", ctx,
                          f"name {rule.name!r} has {parts} colon-separated part(s); expected level:metric"
                          f"[:operations] (2 or 3 non-empty parts)", rule)


@check("rule-alert-severity", area="rules", target="alerting rule", severity="critical",
       fix="add labels.severity with one of critical, warning, info")
def alert_severity(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """An alert has no severity label, or one outside critical, warning, info."""
    for rule in rules.alerts:
        severity = rule.labels.get("severity")
        if severity is None:
            yield finding("rule-alert-severity", ctx, "labels.severity missing; expected one of "
                          + ", ".join(ALERT_SEVERITIES), rule)
        elif severity not in ALERT_SEVERITIES:
            yield finding("rule-alert-severity", ctx, f"labels.severity is {severity!r}; expected one of "
                          + ", ".join(ALERT_SEVERITIES), rule)


@check("rule-alert-annotations", area="rules", target="alerting rule", severity="warning",
       fix="add annotations.summary (one line) and annotations.description (what is wrong, what to do)")
def alert_annotations(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """An alert lacks the summary or description annotation."""
    for rule in rules.alerts:
        missing = [k for k in ("summary", "description") if not rule.annotations.get(k, "").strip()]
        if missing:
            yield finding("rule-alert-annotations", ctx, "annotations missing: " + ", ".join(missing), rule)


@check("rule-alert-for-missing", area="rules", target="alerting rule", severity="warning",
       fix="add 'for: 1m' (or longer) so one bad scrape does not page anybody")
def critical_for(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A critical alert has no 'for' duration and pages on a single evaluation."""
    for rule in rules.alerts:
        if rule.labels.get("severity") == "critical" and rule.for_ in (None, "0", "0s"):
            yield finding("rule-alert-for-missing", ctx, "severity critical but no 'for' duration", rule)


@check("rule-alert-runbook-missing", area="rules", target="alerting rule", severity="info",
       fix="add annotations.runbook_url pointing at what the responder should do")
def alert_runbook(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """An alert has no runbook_url annotation."""
    for rule in rules.alerts:
        if not rule.annotations.get("runbook_url", "").strip():
            yield finding("rule-alert-runbook-missing", ctx, "annotations.runbook_url missing", rule)


@check("rule-name-duplicate", area="rules", target="rule", severity="warning",
       fix="rename one of the rules or give them different labels")
def duplicates(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """Two rules in a file share a name and labels, so they write the same series."""
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], Rule] = {}
    for rule in rules.rules:
        key = (rule.kind, rule.name, tuple(sorted(rule.labels.items())))
        first = seen.setdefault(key, rule)
        if first is not rule:
            yield finding("rule-name-duplicate", ctx,
                          f"{rule.kind} {rule.name!r} defined twice with the same labels "
                          f"(groups {first.group!r} and {rule.group!r})", rule)


@check("rule-unknown-series", area="rules", target="rule", severity="warning",
       fix="fix the metric name, add the recording rule that produces it, or list it in a metric inventory file")
def unknown_series(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A rule reads a series that no rule produces and no metric inventory lists."""
    inventory = ctx.inventory.with_records(r.name for r in rules.records)
    for rule in rules.rules:
        try:
            names = promql.series_names(rule.expr)
        except RuleError:
            continue  # reported by rule-promql-invalid
        unknown = sorted(n for n in names if not inventory.knows(n))
        if unknown:
            yield finding("rule-unknown-series", ctx,
                          "reads unknown series " + ", ".join(unknown)
                          + " (not produced by a rule, not in the metric inventory)", rule)


@check("rule-yaml-invalid", area="rules", target="file", severity="critical", group="file",
       fix="fix the YAML syntax at the line named")
def _yaml_invalid() -> list[Finding]:
    """A rule, config or promtool test file is not readable YAML."""
    return []  # findings are made by BrokenFileItem from the loader's error
