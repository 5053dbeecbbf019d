"""The session record: outcomes, findings and artifacts per test; the verdict and DEFCON level.

Gates never print or write reports: they attach findings (the one result shape, measured figures
included) and artifacts to their test item (:func:`attach`, carried in ``item.user_properties`` as plain
data so it travels through pytest-xdist), and the plugin folds every test report into one
:class:`SessionRecord` of typed objects. Reporters (terminal, verdict JSON, Allure) read only the record.

DEFCON, derived from the worst outcome (5 = peace, 1 = war); each family's kind is in
:data:`~pytest_artemis.families.FAMILIES`:

====  ==============  ===================================================================
5     FADE OUT        every gate passed, no warning findings
4     DOUBLE TAKE     passed, but with warning findings or skipped gates; or no test ran at all (NO-GO)
3     ROUND HOUSE     a static gate (manifests, rules, dashboards) failed or errored
2     FAST PACE       a live gate (probes, observability, load scenarios, rollout, other tests) failed or errored
1     COCKED PISTOL   the session was interrupted, crashed or has not finished: nothing can be vouched for
====  ==============  ===================================================================

The verdict file is rewritten after every test with ``status: running``; until the session finishes it
says NO-GO at DEFCON 1, so the file a killed session leaves behind (SIGKILL, a CI timeout) never reads GO.
Everything written passes through :func:`~pytest_artemis.redact.redact`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_artemis import theme
from pytest_artemis.families import BY_NAME, FAMILIES
from pytest_artemis.findings import Finding
from pytest_artemis.redact import redact, redact_data

__all__ = ["USER_PROPERTY", "Artifact", "GateSummary", "SessionRecord", "TestOutcome", "attach", "dumps"]

USER_PROPERTY = "artemis"

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Artifact:
    name: str
    path: str


@dataclass
class TestOutcome:
    nodeid: str
    gate: str  # the family's name
    outcome: Outcome = "passed"
    duration: float = 0.0
    message: str = ""
    findings: list[Finding] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)

    @property
    def measured(self) -> list[Finding]:
        return [f for f in self.findings if f.measured]


@dataclass
class GateSummary:
    gate: str
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    warnings: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.skipped

    @property
    def verdict(self) -> str:
        return theme.VERDICT_NO_GO if self.failed or self.error else theme.VERDICT_GO

    @property
    def title(self) -> str:
        return BY_NAME[self.gate].title if self.gate in BY_NAME else self.gate


def attach(item: Any, *, findings: Iterable[Finding] = (), artifact: tuple[str, str | os.PathLike[str]] | None = None
           ) -> None:
    """Attach findings (measured figures included) or an artifact (name, path) to a pytest item.

    Redacted here already: ``user_properties`` travel to xdist's controller and into ``--junitxml`` files.
    """
    payload: dict[str, Any] = {}
    found = [f.as_dict() for f in findings]
    if found:
        payload["findings"] = redact_data(found)
    if artifact is not None:
        payload["artifact"] = {"name": redact(artifact[0]), "path": str(artifact[1])}
    if payload:
        item.user_properties.append((USER_PROPERTY, payload))


def attached_findings(user_properties: Iterable[tuple[str, Any]]) -> list[Finding]:
    """The findings attached to an item or report so far."""
    return [Finding.from_dict(f) for name, payload in user_properties if name == USER_PROPERTY
            for f in payload.get("findings", [])]


_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def measurement_view(finding: Finding, nodeid: str) -> dict[str, Any]:
    """A measured finding as the verdict file's ``measurements`` list shows it."""
    name = " ".join(p for p in (finding.scenario, finding.endpoint, finding.figure) if p)
    passed = {"pass": True, "fail": False}.get(finding.status)
    return {"name": name, "check": finding.check, "value": finding.value, "unit": finding.unit,
            "limit": finding.limit, "comparison": finding.comparison, "passed": passed, "status": finding.status,
            "details": {**finding.details, **({"endpoint": finding.endpoint} if finding.endpoint else {}),
                        "message": finding.message}, "nodeid": nodeid}


class SessionRecord:
    """Everything the session found; serialisable as the verdict file."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)
        self.started = time.time()
        self.finished: float | None = None
        self.status: Literal["running", "complete", "interrupted", "crashed"] = "running"
        self.crash: str = ""
        self.session_dir: str = ""
        self.tests: dict[str, TestOutcome] = {}
        self.session_findings: list[Finding] = []
        self._counted: dict[str, tuple[str, str, int, bool]] = {}  # nodeid -> (gate, outcome, warnings, done)
        self._summary: dict[str, GateSummary] = {}  # kept up to date per report: no pass over all tests
        self._fragments: dict[str, tuple[str, str, str]] = {}  # finished tests as the verdict holds them, made once

    # ---------------------------------------------------------------- input

    def add_report(self, report: Any, gate: str) -> None:
        """Fold one pytest TestReport (setup, call or teardown) into the record."""
        test = self.tests.setdefault(report.nodeid, TestOutcome(report.nodeid, gate))
        self._fragments.pop(report.nodeid, None)  # a rerun reports again
        test.duration += getattr(report, "duration", 0.0) or 0.0
        if report.failed:
            outcome: Outcome = "failed" if report.when == "call" else "error"
        elif report.skipped:
            outcome = "skipped"
        else:
            outcome = "passed"
        if _RANK[outcome] > _RANK[test.outcome]:
            test.outcome = outcome
            test.message = redact(_short(report))
        if report.when == "teardown":
            test.findings.extend(attached_findings(report.user_properties))
            test.artifacts.extend(Artifact(**payload["artifact"]) for name, payload in report.user_properties
                                  if name == USER_PROPERTY and "artifact" in payload)
        self._recount(test, done=report.when == "teardown")

    def _recount(self, test: TestOutcome, done: bool) -> None:
        old = self._counted.get(test.nodeid)
        if old is not None:
            summary = self._summary[old[0]]
            setattr(summary, old[1], getattr(summary, old[1]) - 1)
            summary.warnings -= old[2]
        warnings = sum(1 for f in test.findings if f.severity == "warning" and f.problem)
        summary = self._summary.setdefault(test.gate, GateSummary(test.gate))
        setattr(summary, test.outcome, getattr(summary, test.outcome) + 1)
        summary.warnings += warnings
        self._counted[test.nodeid] = (test.gate, test.outcome, warnings, done)

    # ---------------------------------------------------------------- derived

    def summaries(self) -> dict[str, GateSummary]:
        """Per gate family, in the families' order (counts kept up to date as reports arrive)."""
        out = {g: s for g, s in self._summary.items() if s.total}
        order = [f.name for f in FAMILIES]
        return {g: out[g] for g in order + sorted(set(out) - set(order)) if g in out}

    @property
    def verdict(self) -> str:
        if self.status != "complete" or not self.tests:  # a gate that checked nothing vouches for nothing
            return theme.VERDICT_NO_GO
        if any(s.verdict == theme.VERDICT_NO_GO for s in self.summaries().values()):
            return theme.VERDICT_NO_GO
        if all(s.skipped == s.total for s in self.summaries().values()):  # nothing was measured
            return theme.VERDICT_NO_GO
        return theme.VERDICT_GO

    @property
    def defcon(self) -> int:
        if self.status != "complete":
            return 1
        summaries = self.summaries()
        levels = [BY_NAME[g].defcon_on_failure if g in BY_NAME else 2
                  for g, s in summaries.items() if s.failed or s.error]
        if levels:
            return min(levels)
        if not summaries or any(s.warnings or s.skipped for s in summaries.values()):
            return 4
        return 5

    def findings(self) -> list[tuple[str, Finding]]:
        """(nodeid, finding) of every problem the session found, tests' first, then the session's own."""
        return [(t.nodeid, f) for t in self.tests.values() for f in t.findings if f.problem] + \
            [("", f) for f in self.session_findings if f.problem]

    def head(self) -> dict[str, Any]:
        """Everything but the tests: status, verdict, DEFCON, gate counts, config (cheap: no pass over tests)."""
        level = self.defcon
        return {
            "tool": "pytest-artemis",
            "status": self.status,
            "verdict": self.verdict,
            "defcon": {"level": level, "name": theme.DEFCON_NAMES[level]},
            "started": self.started,
            "finished": self.finished,
            "crash": self.crash,
            "session_dir": self.session_dir,
            "gates": {
                g: {"passed": s.passed, "failed": s.failed, "error": s.error, "skipped": s.skipped,
                    "warnings": s.warnings, "verdict": s.verdict}
                for g, s in self.summaries().items()
            },
            "config": self.config,
        }

    def as_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())

    def fragments(self, test: TestOutcome) -> tuple[str, str, str]:
        """The test's JSON, its problems' and its figures' (comma-joined), redacted; made once per finished test
        and shared by its journal line and the final file (which is put together from them, not dumped again).
        The test's JSON is put together from each finding's JSON, made once; only the text is
        kept (a string costs the garbage collector nothing; 10,000 nested dicts do)."""
        cached = self._fragments.get(test.nodeid)
        if cached is not None:
            return cached
        encode = _ENCODER.encode
        node = encode(test.nodeid)
        texts = [encode(f.as_dict()) for f in test.findings]
        artifacts = encode([{"name": a.name, "path": a.path} for a in test.artifacts])
        made = (redact(f'{{"nodeid": {node}, "gate": {encode(test.gate)}, "outcome": {encode(test.outcome)}, '
                       f'"duration": {encode(test.duration)}, "message": {encode(test.message)}, '
                       f'"findings": [{", ".join(texts)}], "artifacts": {artifacts}}}'),
                redact(",".join(f'{t[:-1]}, "nodeid": {node}}}' for f, t in zip(test.findings, texts, strict=True)
                                if f.problem)),
                ",".join(dumps(measurement_view(f, test.nodeid)) for f in test.findings if f.measured))
        if self._counted.get(test.nodeid, ("", "", 0, False))[3]:  # finished: it changes no more
            self._fragments[test.nodeid] = made
        return made

    def journal_line(self, test: TestOutcome) -> str:
        """One line of the verdict journal: the finished test, its problems and its figures."""
        t, f, m = self.fragments(test)
        return f'{{"test": {t}, "findings": [{f}], "measurements": [{m}]}}'

    def to_json(self) -> str:
        """The whole verdict file's JSON text, redacted (non-ASCII kept as is, so a secret shows in its plain form;
        the JSON-escaped forms of registered secrets are registered too)."""
        parts = [self.fragments(t) for t in self.tests.values()]
        findings = [p[1] for p in parts if p[1]] + [dumps(f.as_dict()) for f in self.session_findings if f.problem]
        head = dumps(self.head())
        return (f'{head[:-1]}, "tests": [{",".join(p[0] for p in parts)}], "findings": [{",".join(findings)}], '
                f'"measurements": [{",".join(p[2] for p in parts if p[2])}]}}\n')


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def dumps(data: Any, indent: int | None = None) -> str:
    """JSON text of ``data`` with every secret masked (the one way the verdict file's text is made)."""
    text = _ENCODER.encode(data) if indent is None else json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    return redact(text)


def _short(report: Any) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:500] if crash.message else ""
    text = str(report.longrepr or "")
    return text.strip().splitlines()[-1][:500] if text.strip() else ""
