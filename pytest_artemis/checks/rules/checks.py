"""Python-side checks of Prometheus rule files (area ``rules``, group ``core``).

Each check takes a parsed :class:`~pytest_artemis.checks.rules.model.RuleFile` and a
:class:`RuleContext` and returns findings; the rule gate item runs them all and fails once. Checks that go
beyond what promtool enforces are opinions: they say why in ``why`` and none of them is critical.
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
#: A duration of zero ("0", "0s", "0m", "0h0m") in Prometheus' duration syntax.
ZERO_DURATION = re.compile(r"^(0+(ms|s|m|h|d|w|y)?)+$")


@dataclass(frozen=True)
class RuleContext:
    """What the checks of one rule file need besides the file: its display path and the inventory.

    ``inventory`` is None when no source can know the file's series (no inventory given, no Prometheus,
    not the kit's file): the unknown-series check then does not run for the file.
    """

    file: str
    inventory: Inventory | None


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
       fix="name recording rules level:metric:operations, e.g. job:http_requests:rate5m",
       why="Prometheus' naming best practice: the name says what was aggregated and how, so a dashboard or alert "
           "reading it does not have to open the rule file. Prometheus loads any valid name.")
def record_name(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A recording rule's name does not follow level:metric:operations."""
    for rule in rules.records:
        if not RECORD_NAME.match(rule.name):
            parts = rule.name.count(":") + 1 if ":" in rule.name else 1
            yield finding("rule-record-name", ctx,
                          f"name {rule.name!r} has {parts} colon-separated part(s); expected level:metric"
                          f"[:operations] (2 or 3 non-empty parts)", rule)


@check("rule-alert-severity", area="rules", target="alerting rule", severity="warning",
       fix="add labels.severity with one of critical, warning, info",
       why="Alertmanager routes and inhibits by labels; an alert without a severity reaches whatever the default "
           "route says. Another value (kube-prometheus' 'none', 'page') is a routing convention, not an error: "
           "info.")
def alert_severity(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """An alert has no severity label (warning), or one outside critical, warning, info (info)."""
    for rule in rules.alerts:
        severity = rule.labels.get("severity")
        if severity is None:
            yield finding("rule-alert-severity", ctx, "labels.severity missing; expected one of "
                          + ", ".join(ALERT_SEVERITIES), rule)
        elif severity not in ALERT_SEVERITIES:
            yield finding("rule-alert-severity", ctx, f"labels.severity is {severity!r}; the gate knows "
                          + ", ".join(ALERT_SEVERITIES), rule, severity="info")


@check("rule-alert-annotations", area="rules", target="alerting rule", severity="warning",
       fix="add annotations.summary (one line) and annotations.description (what is wrong, what to do)",
       why="The notification shows the annotations: without summary and description the responder gets an "
           "alert name and labels only.")
def alert_annotations(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """An alert lacks the summary or description annotation."""
    for rule in rules.alerts:
        missing = [k for k in ("summary", "description") if not rule.annotations.get(k, "").strip()]
        if missing:
            yield finding("rule-alert-annotations", ctx, "annotations missing: " + ", ".join(missing), rule)


@check("rule-alert-for-missing", area="rules", target="alerting rule", severity="warning",
       fix="add 'for: 1m' (or longer) so one bad scrape does not page anybody",
       why="A critical alert without 'for' pages on a single evaluation, so one failed scrape or a restart wakes "
           "somebody up.")
def critical_for(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A critical alert has no 'for' duration (or 'for: 0m') and pages on a single evaluation."""
    for rule in rules.alerts:
        if rule.labels.get("severity") == "critical" and (rule.for_ is None or ZERO_DURATION.match(rule.for_)):
            said = "no 'for' duration" if rule.for_ is None else f"'for: {rule.for_}'"
            yield finding("rule-alert-for-missing", ctx, f"severity critical but {said}", rule)


@check("rule-alert-runbook-missing", area="rules", target="alerting rule", severity="info",
       fix="add annotations.runbook_url pointing at what the responder should do",
       why="A runbook link tells the responder what to do; many collections keep that elsewhere, so it is only "
           "recorded (info).")
def alert_runbook(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """An alert has no runbook_url annotation."""
    for rule in rules.alerts:
        if not rule.annotations.get("runbook_url", "").strip():
            yield finding("rule-alert-runbook-missing", ctx, "annotations.runbook_url missing", rule)


@check("rule-name-duplicate", area="rules", target="rule", severity="warning",
       fix="rename one of the rules or give them different labels",
       why="Two rules writing the same series overwrite each other's samples; promtool only lints this "
           "(--lint=duplicate-rules) and still loads the file.")
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
       fix="fix the metric name, add the recording rule that produces it, or list it in a metric inventory file",
       why="A misspelt or renamed metric makes a rule silently evaluate to nothing, so its alert never fires. "
           "Judged only against a source that can know the names (--artemis-metric-inventory, "
           "--artemis-prometheus, the kit's inventory for the kit's files); other files are not checked and the "
           "gate says so once.")
def unknown_series(rules: RuleFile, ctx: RuleContext) -> Iterator[Finding]:
    """A rule reads a series that no rule produces and the series source (inventory, Prometheus) does not know."""
    if ctx.inventory is None:
        return  # no source can know this file's series: said once per gate, not per rule
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
                          + f" (not produced by a rule, not in {inventory.described})", rule)


@check("rule-yaml-invalid", area="rules", target="file", severity="critical", group="file",
       fix="fix the YAML syntax at the line named")
def _yaml_invalid() -> list[Finding]:
    """A rule, config or promtool test file is not readable YAML."""
    return []  # findings are made by BrokenFileItem from the loader's error
