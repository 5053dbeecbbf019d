"""HTML building blocks of the mission report: the one text exit (redacted, then escaped), status badges, tables.

Every string the report shows passes through :func:`esc`: :func:`pytest_artemis.redact.redact` first (a
password in a URL, a token in a query, a registered secret), then HTML escaping. Tables carry a ``data-label``
on each cell so that, at phone width, each row becomes a card of label/value lines (no horizontal scroll).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from pytest_artemis import theme
from pytest_artemis.findings import Finding
from pytest_artemis.redact import redact

__all__ = [
    "ROLE_OF_OUTCOME",
    "ROLE_OF_STATUS",
    "badge",
    "esc",
    "figure_row",
    "limit_text",
    "mark",
    "more",
    "outcome_badge",
    "role_colour",
    "table",
]

#: Finding status -> palette role; outcome -> palette role.
ROLE_OF_STATUS = {"pass": "ok", "fail": "critical", "inconclusive": "warning", "info": "info"}
ROLE_OF_OUTCOME = {"passed": "ok", "failed": "critical", "error": "critical", "skipped": "warning"}
_BLANK = ' class="blank"'  # an empty cell: left out of a row's card at phone width
_MARKS = {"pass": "ok", "fail": "FAIL", "inconclusive": "??", "info": "-"}  # as MISSION STATUS marks figures


def esc(value: Any) -> str:
    """``value`` as HTML text: redacted, then escaped (quotes too, so it is safe in attributes)."""
    return escape(redact("" if value is None else str(value)), quote=True)


def role_colour(role: str) -> str:
    return theme.PALETTE.get(role, theme.FOREGROUND)


def badge(text: str, role: str) -> str:
    return f'<span class="badge {esc(role)}">{esc(text)}</span>'


def mark(status: str) -> str:
    return badge(_MARKS.get(status, status), ROLE_OF_STATUS.get(status, "info"))


def outcome_badge(outcome: str) -> str:
    return badge(outcome, ROLE_OF_OUTCOME.get(outcome, "info"))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table whose cells are HTML already; headers are plain text (escaped here)."""
    labels = [esc(h) for h in headers]
    head = "".join(f"<th>{h}</th>" for h in labels)
    body = "".join("<tr>" + "".join(f'<td data-label="{labels[i]}"{_BLANK if cell == "-" else ""}>{cell}</td>'
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="rows {esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def limit_text(f: Finding) -> str:
    return f"{f.comparison} {f.shown_limit()}".strip() if f.limit is not None else "-"


def figure_row(f: Finding, source: str = "") -> list[str]:
    """figure, where, value, limit, mark (+ the test, when ``source`` is given)."""
    where = " ".join(p for p in (f.scenario, f.endpoint) if p) or "-"
    row = [f'<span class="mono">{esc(f.figure)}</span>', esc(where),
           f'<span class="num" data-value="{esc(f.value)}">{esc(f.shown_value())}</span>', esc(limit_text(f)),
           mark(f.status)]
    if source:
        row.insert(0, f'<span class="nodeid">{esc(source)}</span>')
    return row


def more(count: int, what: str) -> str:
    if count <= 0:
        return ""
    return f'<p class="more">{count:,} more {esc(what)} in the verdict file</p>'
