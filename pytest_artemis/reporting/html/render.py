"""The Artemis Command Center mission report: one self-contained HTML file rendered from the verdict data.

:func:`render` reads only the verdict (the dict of :meth:`~pytest_artemis.record.SessionRecord.as_dict`, i.e.
the verdict file's JSON) plus the artifacts it names (each load run's ``timeseries.json``, the history store),
so the same renderer serves ``--artemis-report FILE`` at session end (:func:`write_report`) and
``artemis-report VERDICT.json -o FILE`` afterwards. The page inlines its CSS (``report.css``, colours and font
from :mod:`pytest_artemis.theme`), its small script (``report.js``) and its SVG charts; a Content-Security-Policy
forbids every fetch, so it opens from disk with no network. This module owns the page and the Mission Status
panel; :mod:`~pytest_artemis.reporting.html.panels` the others.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_artemis import theme
from pytest_artemis.errors import ConfigError
from pytest_artemis.redact import redact
from pytest_artemis.reporting.html import panels
from pytest_artemis.reporting.html.markup import badge, esc, table
from pytest_artemis.reporting.html.model import Mission, Report, build

__all__ = ["render", "write_report"]

_PLACEHOLDER = re.compile(r"%%([A-Z]+)%%")


@functools.cache
def _asset(name: str) -> str:
    return resources.files("pytest_artemis.reporting.html").joinpath(name).read_text(encoding="utf-8")


def _css() -> str:
    variables = {"green": theme.GREEN, "yellow": theme.YELLOW, "red": theme.RED, "bg": theme.BACKGROUND,
                 "fg": theme.FOREGROUND, "font": theme.FONT_FAMILY}
    root = ":root{" + "".join(f"--{k}:{v};" for k, v in variables.items()) + "}"
    return root + _asset("report.css")


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not finished"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}h {minutes:02d}m {secs:04.1f}s" if hours else f"{minutes}m {secs:04.1f}s" if minutes
            else f"{secs:.2f}s")


def _defcon(m: Mission) -> str:
    cells = "".join(f'<span class="level{" current" if level == m.level else ""}" '
                    f'style="--c:{theme.DEFCON_COLOURS[level]}" title="{esc(theme.DEFCON_NAMES[level])}">{level}</span>'
                    for level in sorted(theme.DEFCON_NAMES, reverse=True))
    colour = theme.DEFCON_COLOURS.get(m.level, theme.RED)
    return (f'<div class="defcon-block"><span class="label">DEFCON</span>'
            f'<div class="defcon-scale" role="img" aria-label="DEFCON {m.level} of 5">{cells}</div>'
            f'<div class="defcon-now" id="defcon" data-level="{m.level}" style="--c:{colour}">'
            f'<span class="pulse" aria-hidden="true"></span>DEFCON {m.level} &middot; {esc(m.name)}</div></div>')


def mission_status(report: Report) -> str:
    m = report.mission
    role = "ok" if m.verdict == theme.VERDICT_GO else "critical"
    banner = ""
    if not m.complete:
        why = f": {m.crash}" if m.crash else ""
        banner = (f'<div class="banner critical" id="incomplete" role="alert">INCOMPLETE: the session is '
                  f'{esc(m.status)}{esc(why)}. Nothing it had not finished can be vouched for; the verdict stays '
                  f'{esc(theme.VERDICT_NO_GO)}.</div>')
    readouts = [("environment", m.environment or "-"), ("profile", m.profile or "-"), ("target", m.target),
                (theme.term("Uptime"), _duration(m.duration)), ("commit", m.commit or "unknown"),
                ("started", _when(m.started)), ("tests", f"{m.tests:,}"), ("session", m.status)]
    dl = "".join(f'<div class="readout" data-readout="{esc(k)}"><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>'
                 for k, v in readouts)
    rows = [[esc(title), *(f'<span class="num">{counts[k]}</span>' for k in
                           ("passed", "failed", "error", "skipped", "warnings")),
             badge(verdict, "ok" if verdict == theme.VERDICT_GO else "critical")]
            for title, counts, verdict in m.gates]
    gates = (table(["gate", "passed", "failed", "error", "skipped", "warnings", "verdict"], rows, "gates")
             if rows else '<p class="empty">no gates ran</p>')
    body = (f'{banner}<div class="status-grid"><div class="verdict-block {role}"><span class="label">mission '
            f'verdict</span><span class="verdict" id="verdict" data-verdict="{esc(m.verdict)}">{esc(m.verdict)}'
            f'</span></div>{_defcon(m)}</div><dl class="readouts">{dl}</dl>{gates}')
    return (f'<section class="panel wide" id="mission-status" data-panel="mission-status">'
            f'<h2>{esc(panels.SECTIONS["mission-status"])}</h2>{body}</section>')


def render(verdict: Mapping[str, Any], artifacts_root: Path | None = None) -> str:
    """The mission report of ``verdict`` as one HTML document (artifact paths also tried under
    ``artifacts_root``: where a CI job's artifacts were downloaded)."""
    report = build(verdict, artifacts_root)
    m = report.mission
    body = "".join((mission_status(report), panels.vitals(report), panels.threats(report), panels.readiness(report),
                    panels.deployment(report), panels.timeline(report)))
    values = {
        "TITLE": esc(f"{theme.TITLE}: {m.verdict}, DEFCON {m.level}"),
        "HEADING": esc(theme.TITLE),
        "GENERATED": esc(_when(time.time())),
        "CSS": _css(),
        "JS": _asset("report.js"),
        "BODY": body,
        "STATE": "incomplete" if not m.complete else "complete",
    }
    page = _PLACEHOLDER.sub(lambda match: values[match[1]], _asset("template.html"))
    return redact(page)  # every string was redacted on its way in; this pass guards the page as a whole


def write_report(record_dict: dict[str, Any], path: Path, artifacts_root: Path | None = None) -> None:
    """Write the mission report of ``record_dict`` to ``path`` atomically (a reader never sees half a page).

    A path that cannot be written raises :class:`~pytest_artemis.errors.ConfigError` naming it.
    """
    page = render(record_dict, artifacts_root)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ConfigError(f"mission report {path} cannot be written: {err.strerror or err}") from err
