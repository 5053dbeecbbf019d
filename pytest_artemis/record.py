"""The session record: outcomes, findings, measurements and artifacts; the verdict and DEFCON level.

Gates never print or write reports: they attach measurements, findings and artifacts to their test
item (:func:`attach`, stored in ``item.user_properties`` so they travel through pytest-xdist), and the
plugin folds every test report into one :class:`SessionRecord`. Reporters (terminal, verdict JSON,
Allure) read only the record.

DEFCON, derived from the worst outcome (5 = peace, 1 = war):

====  ==============  ===================================================================
5     FADE OUT        every gate passed, no warning findings
4     DOUBLE TAKE     passed, but with warning findings or skipped gates; or no test ran at all (NO-GO)
3     ROUND HOUSE     a static gate (manifests, rules, dashboards) failed or errored
2     FAST PACE       a live gate (probes, load scenarios, rollout, other tests) failed or errored
1     COCKED PISTOL   the session was interrupted, crashed or has not finished: nothing can be vouched for
====  ==============  ===================================================================

The verdict file is rewritten after every test with ``status: running``; until the session finishes it
says NO-GO at DEFCON 1, so the file a killed session leaves behind (SIGKILL, a CI timeout) never reads GO.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_artemis import theme
from pytest_artemis.findings import Finding
from pytest_artemis.errors import ConfigError

__all__ = [
    "GATES",
    "LIVE_GATES",
    "USER_PROPERTY",
    "GateSummary",
    "Measurement",
    "SessionRecord",
    "TestOutcome",
    "attach",
    "gate_of",
]

#: Gate family -> markers that put a test in it, in order of precedence.
GATES: dict[str, tuple[str, ...]] = {
    "manifests": ("manifests",),
    "rules": ("rules",),
    "dashboards": ("dashboards",),
    "probes": ("probes",),
    "rollout": ("rollout", "cluster"),
    "load": ("load", "spike", "endurance", "scalability", "chaos"),
}
STATIC_GATES = ("manifests", "rules", "dashboards")
LIVE_GATES = ("probes", "rollout", "load", "other")
USER_PROPERTY = "artemis"

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Measurement:
    """A named figure a test measured, optionally with the limit it was held to."""

    name: str
    value: float | int | str | None
    unit: str = ""
    limit: float | int | str | None = None
    comparison: str = ""  # "<", "<=", ">", ">=" between value and limit
    passed: bool | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TestOutcome:
    nodeid: str
    gate: str
    outcome: Outcome = "passed"
    duration: float = 0.0
    message: str = ""
    measurements: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, str]] = field(default_factory=list)


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


def gate_of(marker_names: Iterable[str]) -> str:
    """The gate family of a test from its marker names."""
    names = set(marker_names)
    for gate, markers in GATES.items():
        if names.intersection(markers):
            return gate
    return "other"


def attach(
    item: Any,
    *,
    measurement: Measurement | None = None,
    findings: Iterable[Finding] = (),
    artifact: tuple[str, str | os.PathLike[str]] | None = None,
) -> None:
    """Attach a measurement, findings or an artifact (name, path) to a pytest item."""
    payload: dict[str, Any] = {}
    if measurement is not None:
        payload["measurement"] = asdict(measurement)
    found = [f.as_dict() for f in findings]
    if found:
        payload["findings"] = found
    if artifact is not None:
        payload["artifact"] = {"name": artifact[0], "path": str(artifact[1])}
    if payload:
        item.user_properties.append((USER_PROPERTY, payload))


_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


class SessionRecord:
    """Everything the session found; serialisable as the verdict file."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.started = time.time()
        self.finished: float | None = None
        self.status: Literal["running", "complete", "interrupted", "crashed"] = "running"
        self.crash: str = ""
        self.tests: dict[str, TestOutcome] = {}
        self.session_findings: list[dict[str, Any]] = []
        self._done: set[str] = set()  # tests whose teardown was recorded: they change no more
        self._serialized: dict[str, tuple[str, str, str]] = {}

    # ---------------------------------------------------------------- input

    def add_report(self, report: Any, gate: str) -> None:
        """Fold one pytest TestReport (setup, call or teardown) into the record."""
        test = self.tests.setdefault(report.nodeid, TestOutcome(report.nodeid, gate))
        self._serialized.pop(report.nodeid, None)  # a rerun reports again: its cached JSON is stale
        test.duration += getattr(report, "duration", 0.0) or 0.0
        if report.failed:
            outcome: Outcome = "failed" if report.when == "call" else "error"
        elif report.skipped:
            outcome = "skipped"
        else:
            outcome = "passed"
        if _RANK[outcome] > _RANK[test.outcome]:
            test.outcome = outcome
            test.message = _short(report)
        if report.when == "teardown":
            self._done.add(report.nodeid)
            for name, payload in report.user_properties:
                if name != USER_PROPERTY:
                    continue
                if "measurement" in payload:
                    test.measurements.append(payload["measurement"])
                test.findings.extend(payload.get("findings", []))
                if "artifact" in payload:
                    test.artifacts.append(payload["artifact"])

    # ---------------------------------------------------------------- derived

    def summaries(self) -> dict[str, GateSummary]:
        out: dict[str, GateSummary] = {}
        for test in self.tests.values():
            summary = out.setdefault(test.gate, GateSummary(test.gate))
            setattr(summary, test.outcome, getattr(summary, test.outcome) + 1)
            summary.warnings += sum(1 for f in test.findings if f.get("severity") == "warning")
        order = list(GATES) + ["other"]
        return {g: out[g] for g in order if g in out}

    @property
    def verdict(self) -> str:
        if self.status != "complete" or not self.tests:  # a gate that checked nothing vouches for nothing
            return theme.VERDICT_NO_GO
        if any(s.verdict == theme.VERDICT_NO_GO for s in self.summaries().values()):
            return theme.VERDICT_NO_GO
        return theme.VERDICT_GO

    @property
    def defcon(self) -> int:
        if self.status != "complete":
            return 1
        summaries = self.summaries()
        bad = {g for g, s in summaries.items() if s.failed or s.error}
        if bad & set(LIVE_GATES):
            return 2
        if bad:
            return 3
        if not summaries or any(s.warnings or s.skipped for s in summaries.values()):
            return 4
        return 5

    def _head(self) -> dict[str, Any]:
        level = self.defcon
        return {
            "tool": "pytest-artemis",
            "status": self.status,
            "verdict": self.verdict,
            "defcon": {"level": level, "name": theme.DEFCON_NAMES[level]},
            "started": self.started,
            "finished": self.finished,
            "crash": self.crash,
            "gates": {
                g: {"passed": s.passed, "failed": s.failed, "error": s.error, "skipped": s.skipped,
                    "warnings": s.warnings, "verdict": s.verdict}
                for g, s in self.summaries().items()
            },
            "config": self.config,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self._head(),
            "tests": [asdict(t) for t in self.tests.values()],
            "findings": [dict(f, nodeid=t.nodeid) for t in self.tests.values() for f in t.findings]
            + self.session_findings,
            "measurements": [dict(m, nodeid=t.nodeid) for t in self.tests.values() for m in t.measurements],
        }

    def _fragments(self, test: TestOutcome) -> tuple[str, str, str]:
        """The test's JSON, its findings and its measurements (comma-joined), cached once the test is done."""
        cached = self._serialized.get(test.nodeid)
        if cached is not None:
            return cached
        dump = functools.partial(json.dumps, default=str)
        parts = (dump(asdict(test)),
                 ",".join(dump(dict(f, nodeid=test.nodeid)) for f in test.findings),
                 ",".join(dump(dict(m, nodeid=test.nodeid)) for m in test.measurements))
        if test.nodeid in self._done:
            self._serialized[test.nodeid] = parts
        return parts

    def to_json(self) -> str:
        """:meth:`as_dict` as JSON text; finished tests are serialised once, so rewriting after every test
        stays cheap in sessions of thousands of tests."""
        parts = [self._fragments(t) for t in self.tests.values()]
        findings = [p[1] for p in parts if p[1]] + [json.dumps(f, default=str) for f in self.session_findings]
        head = json.dumps(self._head(), indent=2, default=str)
        return (head[:-2] + f',\n  "tests": [{",".join(p[0] for p in parts)}],\n  "findings": [{",".join(findings)}],'
                f'\n  "measurements": [{",".join(p[2] for p in parts if p[2])}]\n}}\n')

    def write(self, path: Path) -> None:
        """Write the verdict JSON atomically (a reader never sees half a file).

        A path that cannot be written raises :class:`~pytest_artemis.errors.ConfigError` naming it.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".verdict-", suffix=".json")
        except OSError as err:
            raise _unwritable(path, err) from err
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json())
            os.replace(tmp, path)
        except BaseException as err:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(err, OSError):
                raise _unwritable(path, err) from err
            raise


def _unwritable(path: Path, err: OSError) -> ConfigError:
    where = f" ({err.filename})" if err.filename and str(err.filename) != str(path) else ""
    return ConfigError(f"verdict file {path} cannot be written: {err.strerror or err}{where}")


def _short(report: Any) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:500] if crash.message else ""
    text = str(report.longrepr or "")
    return text.strip().splitlines()[-1][:500] if text.strip() else ""
