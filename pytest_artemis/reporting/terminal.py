"""The terminal's ``ARTEMIS MISSION STATUS`` section: one line per gate family, the figures of every live
gate (value, limit, comparison, pass/fail mark; for passing runs too, like k6's end-of-test summary), the
findings of failed gates grouped by object, and the verdict with its DEFCON level.

``--artemis-summary`` tunes it: ``short`` (judged figures of live gates, problems of failed gates), ``full``
(every recorded figure, every problem) or ``none`` (gate lines and the verdict only).
"""

from __future__ import annotations

from typing import Any

from pytest_artemis import theme
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.families import BY_NAME
from pytest_artemis.findings import SEVERITY_RANK, Finding, format_findings
from pytest_artemis.record import SessionRecord, TestOutcome
from pytest_artemis.redact import redact, register_url

__all__ = ["figures_table", "write_mission_status"]

_MAX_FINDINGS = 40
_MARKS = {"pass": "ok", "fail": "FAIL", "inconclusive": "??", "info": "-"}


def _markup(role: str) -> dict[str, bool]:
    return dict(theme.TERMINAL_MARKUP[role])


def _role(verdict: str) -> str:
    return "ok" if verdict == theme.VERDICT_GO else "critical"


def figures_table(test: TestOutcome, full: bool = False) -> list[str]:
    """The measured figures of one test as aligned rows: figure, value, comparison, limit, mark; an unjudged
    figure is shown in ``short`` too when it has a limit (recorded beside a judged one: arrival mode's
    uncorrected percentiles)."""
    rows = [f for f in test.measured if full or f.status != "info" or f.limit is not None]
    if not rows:
        return []
    names = [" ".join(p for p in (f.endpoint, f.figure) if p) for f in rows]
    width = min(44, max(len(n) for n in names))
    out = []
    for name, f in zip(names, rows, strict=True):
        limit = f"{f.comparison} {f.shown_limit()}" if f.limit is not None else ""
        out.append(f"{name[:width]:<{width}}  {f.shown_value():>14}  {limit:<18} {_MARKS[f.status]}")
    return out


def _live(test: TestOutcome) -> bool:
    family = BY_NAME.get(test.gate)
    return family is None or family.kind == "live"


def write_mission_status(tr: Any, record: SessionRecord, cfg: ArtemisConfig) -> None:
    """Write the MISSION STATUS section with the pytest terminal reporter ``tr``; every line redacted."""
    for url in (cfg.target, cfg.loadgen_target):  # their secrets in any form, also where no fixture split them
        if url:                                    # (xdist's controller)
            register_url(url)
    summaries = record.summaries()
    tr.write_sep("=", "ARTEMIS MISSION STATUS", **_markup(_role(record.verdict)))
    if not summaries:
        tr.write_line("no gates ran")
    for s in summaries.values():
        counts = f"{s.passed} passed, {s.failed} failed, {s.error} error, {s.skipped} skipped"
        if s.warnings:
            counts += f", {s.warnings} warnings"
        tr.write(f"  {s.title:<36} {counts:<52} ")
        tr.write_line(s.verdict, **_markup(_role(s.verdict)))
    full = cfg.summary == "full"
    if cfg.summary != "none":
        for test in record.tests.values():
            rows = figures_table(test, full) if _live(test) or full else []
            if rows:
                tr.write_line("")
                tr.write_line(redact(f"  {test.nodeid} ({test.outcome})"))  # a parametrize id may hold a URL
                for row in rows:
                    tr.write_line(redact(f"    {row}"))
        problems: list[Finding] = [f for t in record.tests.values() if full or t.outcome in ("failed", "error")
                                   for f in t.findings if f.problem]
        problems.sort(key=lambda f: -SEVERITY_RANK.get(f.severity, 0))
        if problems:
            tr.write_line("")
            tr.write_line(f"  findings on {'all' if full else 'failed'} gates ({len(problems)}), by object:")
            for line in format_findings(problems[:_MAX_FINDINGS]).splitlines():
                tr.write_line(redact("    " + line))
            if len(problems) > _MAX_FINDINGS:
                tr.write_line(f"    ... {len(problems) - _MAX_FINDINGS} more in the verdict file")
    level = record.defcon
    tr.write_line("")
    tr.write("  MISSION VERDICT: ")
    tr.write(f"{record.verdict}", **_markup(_role(record.verdict)))
    tr.write("   ")
    tr.write_line(f"DEFCON {level} ({theme.DEFCON_NAMES[level]})", **_markup(theme.DEFCON_ROLES[level]))
    tr.write_line(redact(f"  environment {cfg.environment}, profile {cfg.profile}"
                         + (f", verdict file {cfg.verdict}" if cfg.verdict else "")
                         + (f", artifacts {record.session_dir}" if record.session_dir else "")))
