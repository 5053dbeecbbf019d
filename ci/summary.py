"""Markdown summary of pytest-artemis verdict files, for a CI job summary ($GITHUB_STEP_SUMMARY).

``python ci/summary.py reports/*/verdict.json`` prints, per file: the gate run's name (its directory), the
verdict and DEFCON, one row per gate family and the tests that did not pass with their one-line message. A
missing or unreadable file, or a session that never finished, is reported as NO-GO. Standard library only, so
it runs before (or without) the project's environment. Messages come from the verdict file, which the plugin
has already redacted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MAX_FAILURES = 20


def cell(text: object) -> str:
    """One markdown table cell: no newlines, no pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def summarise(path: Path) -> list[str]:
    name = path.parent.name if path.parent.name not in ("", ".") else path.stem
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"### {name}: NO-GO", "", f"The verdict file {path} cannot be read ({cell(err)}).", ""]
    verdict = data.get("verdict", "NO-GO")
    status = data.get("status", "unknown")
    if status != "complete":
        verdict = "NO-GO"
    defcon = data.get("defcon") or {}
    head = f"### {name}: {verdict}, DEFCON {defcon.get('level', '?')} ({defcon.get('name', '?')})"
    lines = [head, ""]
    if status != "complete":
        crash = f": {cell(data['crash'])}" if data.get("crash") else ""
        lines += [f"The session did not finish (status {cell(status)}{crash}).", ""]
    gates: dict[str, dict[str, Any]] = data.get("gates") or {}
    if gates:
        lines += ["| gate | passed | failed | error | skipped | verdict |", "|---|---|---|---|---|---|"]
        for gate, counts in gates.items():
            row = [gate, *(counts.get(k, 0) for k in ("passed", "failed", "error", "skipped")),
                   counts.get("verdict", "?")]
            lines.append("| " + " | ".join(cell(v) for v in row) + " |")
        lines.append("")
    else:
        lines += ["No gate ran.", ""]
    bad = [t for t in data.get("tests") or [] if t.get("outcome") in ("failed", "error")]
    if bad:
        lines.append("Not passed:")
        lines.append("")
        for test in bad[:MAX_FAILURES]:
            message = cell(test.get("message") or "")[:300]
            lines.append(f"- `{cell(test.get('nodeid', '?'))}` {test.get('outcome')}" + (f": {message}" if message else ""))
        if len(bad) > MAX_FAILURES:
            lines.append(f"- ... and {len(bad) - MAX_FAILURES} more (see the verdict file in the artifacts)")
        lines.append("")
    return lines


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv]
    if not paths:
        print("usage: python ci/summary.py VERDICT.json [...]", file=sys.stderr)
        return 2
    out = ["## ARTEMIS MISSION STATUS", ""]
    for path in paths:
        out += summarise(path)
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
