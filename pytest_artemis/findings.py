"""Findings: the one result shape of every gate, static or live.

A static check (manifests, rules, dashboards) returns findings for the problems it sees; a live gate
(load scenario, probe, observability, rollout) returns one finding per figure it judged, carrying the
measured value, its limit, unit and comparison, and whether it held (``status``). The record stores these
objects; the terminal, the verdict file and Allure read them and never parse message text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "SEVERITY_RANK",
    "Finding",
    "Severity",
    "Status",
    "at_or_above",
    "display_path",
    "format_findings",
]

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

#: fail: a problem (a static finding, a broken limit); pass: a judged figure that held; inconclusive: the gate
#: could not judge (no data, too few samples) and vouches for nothing; info: a figure recorded, not judged.
Status = Literal["fail", "pass", "inconclusive", "info"]


@dataclass(frozen=True)
class Finding:
    """One result of one check on one object, endpoint or scenario.

    ``message`` is one line stating what was found, with actual and expected values; ``fix`` says in
    one line what to change. ``figure``, ``value``, ``limit``, ``unit`` and ``comparison`` are set when the
    check measured something (``value comparison limit`` must hold).
    """

    check: str
    severity: Severity
    message: str
    kind: str = ""
    name: str = ""
    namespace: str = ""
    file: str = ""
    container: str = ""
    fix: str = ""
    endpoint: str = ""
    scenario: str = ""
    figure: str = ""
    value: float | int | str | None = None
    limit: float | int | str | None = None
    unit: str = ""
    comparison: str = ""
    status: Status = "fail"
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _NAMES}
        out["details"] = dict(self.details)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The finding of :meth:`as_dict` (what travels through ``user_properties`` and xdist)."""
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})

    @property
    def problem(self) -> bool:
        """A failure or an inconclusive result: what MISSION STATUS lists under a failed gate."""
        return self.status in ("fail", "inconclusive")

    @property
    def passed(self) -> bool:
        """Not a problem: the figure held, or it was recorded without being judged."""
        return not self.problem

    @property
    def measured(self) -> bool:
        return bool(self.figure)

    @property
    def obj(self) -> str:
        """The object, endpoint or scenario the finding is about, as MISSION STATUS groups it."""
        name = f"{self.kind}/{self.name}" if self.kind else self.name
        if self.namespace and name:
            name = f"{self.namespace}/{name}"
        parts = [p for p in (self.file, name) if p]
        if self.scenario:
            parts.append(f"scenario {self.scenario}")
        if self.endpoint:
            parts.append(self.endpoint)
        return " ".join(parts)

    def shown_value(self) -> str:
        return _shown(self.value, self.unit)

    def shown_limit(self) -> str:
        return _shown(self.limit, self.unit)


_NAMES = tuple(f.name for f in fields(Finding))
_FIELDS = set(_NAMES)


def _shown(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit not in ("%",) else f"{text}%"


def display_path(path: Path, rootdir: Path) -> str:
    """``path`` relative to the rootdir when under it (what item ids and findings' ``file`` show), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return os.path.normpath(str(resolved))


def at_or_above(findings: Iterable[Finding], threshold: str) -> list[Finding]:
    """The problems whose severity is at or above ``threshold``."""
    limit = SEVERITY_RANK[threshold]
    return [f for f in findings if f.problem and SEVERITY_RANK[f.severity] >= limit]


def format_findings(findings: Iterable[Finding]) -> str:
    """Findings grouped by object, most severe first, a fix line under each."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.obj, []).append(finding)
    lines: list[str] = []
    for key, group in groups.items():
        lines.append(key or "(no object)")
        for finding in sorted(group, key=lambda f: -SEVERITY_RANK[f.severity]):
            prefix = f"container {finding.container}: " if finding.container else ""
            mark = " (inconclusive)" if finding.status == "inconclusive" else ""
            lines.append(f"  [{finding.severity}] {finding.check}{mark}: {prefix}{finding.message}")
            if finding.fix:
                lines.append(f"      fix: {finding.fix}")
    return "\n".join(lines)
