"""Findings: what a check returns. One shape for manifests, rules and dashboards, as the verdict file stores it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["SEVERITY_RANK", "Finding", "Severity", "at_or_above", "format_findings"]

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Finding:
    """One problem a check found in one object.

    ``message`` is one line stating what is wrong, with actual and expected values; ``fix`` says in
    one line what to change.
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def where(self) -> str:
        obj = f"{self.kind}/{self.name}" if self.kind else self.name
        if self.namespace:
            obj = f"{self.namespace}/{obj}"
        parts = [p for p in (self.file, obj) if p]
        if self.container:
            parts.append(f"container {self.container}")
        return " ".join(parts)

    def line(self) -> str:
        text = f"[{self.severity}] {self.check}: {self.message}"
        if self.fix:
            text += f"\n      fix: {self.fix}"
        return text


def display_path(path: Path, rootdir: Path) -> str:
    """``path`` relative to the rootdir when under it (what item ids and findings' ``file`` show), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return os.path.normpath(str(resolved))


def at_or_above(findings: Iterable[Finding], threshold: str) -> list[Finding]:
    """The findings whose severity is at or above ``threshold``."""
    limit = SEVERITY_RANK[threshold]
    return [f for f in findings if SEVERITY_RANK[f.severity] >= limit]


def format_findings(findings: Iterable[Finding]) -> str:
    """Findings grouped by object (file + kind/name), most severe first, a fix line under each."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        key = " ".join(p for p in (finding.file, f"{finding.kind}/{finding.name}" if finding.kind else finding.name) if p)
        groups.setdefault(key, []).append(finding)
    lines: list[str] = []
    for key, group in groups.items():
        lines.append(key or "(no object)")
        for finding in sorted(group, key=lambda f: -SEVERITY_RANK[f.severity]):
            prefix = f"container {finding.container}: " if finding.container else ""
            lines.append(f"  [{finding.severity}] {finding.check}: {prefix}{finding.message}")
            if finding.fix:
                lines.append(f"      fix: {finding.fix}")
    return "\n".join(lines)
