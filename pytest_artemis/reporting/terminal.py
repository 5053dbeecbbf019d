"""The terminal's ``ARTEMIS MISSION STATUS`` section: one line per gate family, the verdict and DEFCON."""

from __future__ import annotations

import dataclasses
from typing import Any

from pytest_artemis import theme
from pytest_artemis.findings import SEVERITY_RANK, Finding, format_findings
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.record import SessionRecord

__all__ = ["write_mission_status"]

_MAX_FINDINGS = 40


def _markup(role: str) -> dict[str, bool]:
    return dict(theme.TERMINAL_MARKUP[role])


_FIELDS = {f.name for f in dataclasses.fields(Finding)}


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(**{k: v for k, v in data.items() if k in _FIELDS})


def write_mission_status(tr: Any, record: SessionRecord, cfg: ArtemisConfig) -> None:
    """Write the MISSION STATUS section with the pytest terminal reporter ``tr``."""
    summaries = record.summaries()
    tr.write_sep("=", "ARTEMIS MISSION STATUS", **_markup("ok" if record.verdict == theme.VERDICT_GO else "critical"))
    if not summaries:
        tr.write_line("no gates ran")
    for gate, s in summaries.items():
        title = theme.GATE_TITLES.get(gate, gate)
        counts = f"{s.passed} passed, {s.failed} failed, {s.error} error, {s.skipped} skipped"
        if s.warnings:
            counts += f", {s.warnings} warnings"
        tr.write(f"  {title:<36} {counts:<52} ")
        tr.write_line(s.verdict, **_markup("ok" if s.verdict == theme.VERDICT_GO else "critical"))
    findings = [_finding(f) for t in record.tests.values() if t.outcome in ("failed", "error") for f in t.findings]
    findings.sort(key=lambda f: -SEVERITY_RANK.get(f.severity, 0))
    if findings:
        tr.write_line("")
        tr.write_line(f"  findings on failed gates ({len(findings)}), by object:")
        for line in format_findings(findings[:_MAX_FINDINGS]).splitlines():
            tr.write_line("    " + line)
        if len(findings) > _MAX_FINDINGS:
            tr.write_line(f"    ... {len(findings) - _MAX_FINDINGS} more in the verdict file")
    level = record.defcon
    role = theme.DEFCON_ROLES[level]
    tr.write_line("")
    tr.write("  MISSION VERDICT: ")
    tr.write(f"{record.verdict}", **_markup("ok" if record.verdict == theme.VERDICT_GO else "critical"))
    tr.write("   ")
    tr.write_line(f"DEFCON {level} ({theme.DEFCON_NAMES[level]})", **_markup(role))
    tr.write_line(f"  environment {cfg.environment}, profile {cfg.profile}"
                  + (f", verdict file {cfg.verdict}" if cfg.verdict else ""))
