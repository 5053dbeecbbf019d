"""The mission report's view of a verdict: what each panel shows, read from the verdict data only.

:func:`build` takes the dict of :meth:`~pytest_artemis.record.SessionRecord.as_dict` (the verdict file's JSON,
also a killed session's folded journal) and returns a :class:`Report`: the mission status, the load scenario
runs with their headline figures, time series and green history, the problems by severity, the kit's objects,
the rollout results and a timeline of notable events. Strings stay raw here; the renderer redacts and escapes
every one of them on the way out.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_artemis import theme
from pytest_artemis.families import BY_NAME, FAMILIES
from pytest_artemis.findings import SEVERITY_RANK, Finding
from pytest_artemis.reporting.html.artifacts import TimeSeries, green_runs, load_timeseries, locate

__all__ = ["HEADLINE", "Event", "Mission", "Report", "ScenarioRun", "Test", "build", "commit_of"]

#: The headline figures of a scenario: key, label, the figure names that carry it.
HEADLINE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("p95", "p95 latency", ("p95_ms", "p95")),
    ("p99", "p99 latency", ("p99_ms", "p99")),
    ("throughput", "throughput", ("throughput_rps", "throughput", "rps")),
    ("error_rate", theme.term("Error Rate"), ("error_rate_percent", "error_rate")),
    ("availability", "availability", ("availability_percent", "availability")),
)
_FIGURE_KEY = {name: key for key, _, names in HEADLINE for name in names}
_STATIC = {f.name for f in FAMILIES if f.kind == "static"}
_INVALID_CHECKS = ("load-run-invalid", "load-generator-saturated")
#: Rows a panel lists at most (the verdict file has the rest); keeps a 2,000-test report small and fast.
MAX_ROWS = 300
MAX_EVENTS = 200
MAX_CHARTED_RUNS = 24


@dataclass
class Test:
    nodeid: str
    gate: str
    outcome: str
    duration: float
    message: str
    findings: list[Finding]
    artifacts: list[dict[str, str]]

    @property
    def measured(self) -> list[Finding]:
        return [f for f in self.findings if f.measured]


@dataclass
class ScenarioRun:
    nodeid: str
    scenario: str
    outcome: str
    headline: dict[str, Finding] = field(default_factory=dict)
    figures: list[Finding] = field(default_factory=list)  # the other judged figures (endpoints, recovery ...)
    series: list[TimeSeries] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Event:
    when: str  # "" when only the order is known
    role: str  # palette role: ok, warning, critical
    source: str
    text: str


@dataclass
class Mission:
    verdict: str
    level: int
    name: str
    status: str
    complete: bool
    crash: str
    environment: str
    profile: str
    target: str
    duration: float | None
    started: float | None
    commit: str
    gates: list[tuple[str, dict[str, int], str]]
    tests: int


@dataclass
class Report:
    mission: Mission
    tests: list[Test]
    scenarios: list[ScenarioRun]
    live_figures: list[tuple[str, Finding]]
    problems: list[tuple[str, Finding]]
    objects: list[tuple[Test, str, str]]  # test, object, file
    rollout: list[Test]
    events: list[Event]
    hidden: dict[str, int]  # panel -> rows left out (the verdict file has them)


def _finding(data: Any) -> Finding | None:
    if not isinstance(data, Mapping):
        return None
    try:
        return Finding.from_dict({**data, "details": data.get("details") if isinstance(data.get("details"), Mapping)
                                  else {}})
    except TypeError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def commit_of(verdict: Mapping[str, Any]) -> str:
    """The commit: the verdict's own, else ``git rev-parse HEAD`` in the run's rootdir, else $GITHUB_SHA /
    $CI_COMMIT_SHA; '' when none is known."""
    if verdict.get("commit"):
        return str(verdict["commit"])
    rootdir = (verdict.get("config") or {}).get("rootdir") or os.getcwd()
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=str(rootdir), capture_output=True, text=True,
                              timeout=5, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA") or ""


def _mission(verdict: Mapping[str, Any], tests: list[Test]) -> Mission:
    config = verdict.get("config") or {}
    status = str(verdict.get("status") or "unknown")
    complete = status == "complete" and verdict.get("complete", True) is not False
    defcon = verdict.get("defcon") or {}
    level = int(defcon.get("level") or 1) if complete else 1
    started, finished = _number(verdict.get("started")), _number(verdict.get("finished"))
    gates = []
    for name, counts in (verdict.get("gates") or {}).items():
        title = BY_NAME[name].title if name in BY_NAME else str(name)
        numbers = {k: int(counts.get(k) or 0) for k in ("passed", "failed", "error", "skipped", "warnings")}
        gates.append((title, numbers, str(counts.get("verdict", ""))))
    target = str(config.get("target") or "bundled reference service (started on loopback by the session)")
    return Mission(
        verdict=str(verdict.get("verdict") or theme.VERDICT_NO_GO) if complete else theme.VERDICT_NO_GO,
        level=level, name=theme.DEFCON_NAMES.get(level, str(defcon.get("name", ""))), status=status,
        complete=complete, crash=str(verdict.get("crash") or ""), environment=str(config.get("environment") or ""),
        profile=str(config.get("profile") or ""), target=target,
        duration=(finished - started) if started is not None and finished is not None else None,
        started=started, commit=commit_of(verdict), gates=gates, tests=len(tests))


def _tests(verdict: Mapping[str, Any]) -> list[Test]:
    out = []
    for raw in verdict.get("tests") or []:
        if not isinstance(raw, Mapping):
            continue
        findings = [f for f in (_finding(d) for d in raw.get("findings") or []) if f is not None]
        artifacts = [{"name": str(a.get("name", "")), "path": str(a.get("path", ""))}
                     for a in raw.get("artifacts") or [] if isinstance(a, Mapping)]
        out.append(Test(str(raw.get("nodeid", "")), str(raw.get("gate", "other")), str(raw.get("outcome", "")),
                        float(_number(raw.get("duration")) or 0.0), str(raw.get("message") or ""), findings,
                        artifacts))
    return out


def _scenario_runs(tests: list[Test], verdict: Mapping[str, Any], root: Path | None) -> list[ScenarioRun]:
    config = verdict.get("config") or {}
    session_dir = str(verdict.get("session_dir") or "")
    history_dir = locate(str(config.get("history") or ""), root, session_dir)
    runs: list[ScenarioRun] = []
    for test in tests:
        series = {a["name"].rsplit(" ", 1)[0] if " " in a["name"] else "": a for a in test.artifacts
                  if a["name"].endswith("timeseries.json")}
        scenarios = list(dict.fromkeys([f.scenario for f in test.measured if f.scenario] + list(series)))
        if not scenarios and test.gate == "load" and test.measured:
            scenarios = [""]
        for scenario in scenarios:
            run = ScenarioRun(test.nodeid, scenario, test.outcome)
            for f in test.measured:
                if f.scenario != scenario:
                    continue
                key = _FIGURE_KEY.get(f.figure) if not f.endpoint else None
                current = run.headline.get(key) if key else None
                if key and (current is None or (current.status == "info" and f.status != "info")):
                    run.headline[key] = f  # the first judged figure of its kind is the headline
                elif f.status != "info":
                    run.figures.append(f)
            charted = len(runs) < MAX_CHARTED_RUNS
            for artifact in [a for a in test.artifacts if a["name"].endswith("timeseries.json")
                             and (a["name"].rsplit(" ", 1)[0] if " " in a["name"] else "") == scenario]:
                if not charted:
                    run.notes.append(f"time series not charted: the report charts the first {MAX_CHARTED_RUNS} "
                                     f"scenario runs ({artifact['path']})")
                    break
                path = locate(artifact["path"], root, session_dir)
                ts, problem = load_timeseries(path) if path else (None, f"{artifact['path']} not found")
                if ts is not None:
                    run.series.append(ts)
                else:
                    run.notes.append(problem)
            if charted:
                run.history = green_runs(history_dir, scenario, str(config.get("profile") or ""),
                                         str(config.get("environment") or ""))
            runs.append(run)
    return runs


def _object_of(test: Test) -> tuple[str, str]:
    path, _, name = test.nodeid.rpartition("::")
    for f in test.findings:
        if f.kind and f.name:
            return (f"{f.namespace}/{f.kind}/{f.name}" if f.namespace else f"{f.kind}/{f.name}"), f.file or path
    return name or test.nodeid, path


def _events(tests: list[Test], runs: list[ScenarioRun]) -> list[Event]:
    by_test: dict[str, list[ScenarioRun]] = {}
    for run in runs:
        by_test.setdefault(run.nodeid, []).append(run)
    events: list[Event] = []
    for test in tests:
        for run in by_test.get(test.nodeid, []):
            label = f"{run.scenario or 'load'} run"
            for ts in run.series:
                for entry in ts.faults:
                    settings = ", ".join(f"{k}={v}" for k, v in (entry.get("settings") or {}).items())
                    state = "switched on" + (f" ({settings})" if settings else "") if entry.get("on") else "switched off"
                    events.append(Event(f"t+{_number(entry.get('t')) or 0:.1f} s", "warning", test.nodeid,
                                        f"{label}: fault {entry.get('fault', '?')} {state}"))
                summary = ts.summary
                if summary.get("aborted"):
                    events.append(Event(f"t+{ts.end:.1f} s", "critical", test.nodeid,
                                        f"{label} aborted: {summary['aborted']}"))
                if summary.get("invalid"):
                    events.append(Event("", "critical", test.nodeid, f"{label} invalid: {summary['invalid']}"))
        for f in test.findings:
            if f.check in _INVALID_CHECKS and f.status == "inconclusive":
                events.append(Event("", "critical", test.nodeid, f"invalid run ({f.check}): {f.message}"))
            elif f.figure.endswith("_seconds_to_pending"):
                state = str(f.details.get("state", ""))
                alert = f.figure.removesuffix("_seconds_to_pending").replace("_", " ")
                role = "ok" if f.status == "pass" else "critical"
                events.append(Event(f"+{f.shown_value()}", role, test.nodeid,
                                    f"alert {alert} {state or 'checked'} (phase {f.details.get('phase', '?')})"))
            elif f.figure == "alerts_without_faults" and f.details.get("active"):
                events.append(Event("", "critical", test.nodeid,
                                    f"alerts active with every fault off: {', '.join(map(str, f.details['active']))}"))
        if test.outcome in ("failed", "error"):
            first = test.message.splitlines()[0] if test.message else test.outcome
            events.append(Event("", "critical", test.nodeid, f"{test.outcome}: {first}"))
    return events


def _session_event(mission: Mission) -> list[Event]:
    if mission.complete:
        return []
    why = f": {mission.crash}" if mission.crash else " (never finished: the report is incomplete)"
    return [Event("end", "critical", "session", f"session {mission.status}{why}")]


def build(verdict: Mapping[str, Any], artifacts_root: Path | None = None) -> Report:
    """The report of ``verdict``; artifact and history paths are also looked for under ``artifacts_root``."""
    tests = _tests(verdict)
    mission = _mission(verdict, tests)
    runs = _scenario_runs(tests, verdict, artifacts_root)
    in_runs = {r.nodeid for r in runs}
    live = [(t.nodeid, f) for t in tests if t.gate not in _STATIC and t.nodeid not in in_runs
            for f in t.measured if f.status != "info"]
    raw_problems = verdict.get("findings")
    if isinstance(raw_problems, list):
        problems = [(str(d.get("nodeid", "")), f) for d in raw_problems if isinstance(d, Mapping)
                    for f in [_finding(d)] if f is not None and f.problem]
    else:
        problems = [(t.nodeid, f) for t in tests for f in t.findings if f.problem]
    objects = [(t, *_object_of(t)) for t in tests if t.gate == "manifests"]
    problems.sort(key=lambda p: -SEVERITY_RANK.get(p[1].severity, 0))  # stable: the verdict's order within
    events = _events(tests, runs)
    hidden = {"figures": max(0, len(live) - MAX_ROWS), "problems": max(0, len(problems) - MAX_ROWS),
              "objects": max(0, len(objects) - MAX_ROWS), "events": max(0, len(events) - MAX_EVENTS)}
    return Report(mission, tests, runs, live[:MAX_ROWS], problems[:MAX_ROWS], objects[:MAX_ROWS],
                  [t for t in tests if t.gate == "rollout"], events[:MAX_EVENTS] + _session_event(mission), hidden)
