"""The mission report's panels after Mission Status: System Vitals, Operational Readiness, Threat Detection,
Resource Deployment and Tactical Intelligence, each an HTML ``<section>`` built from the :class:`Report`.

Panel titles are the theme's dashboard sections; figures are shown as MISSION STATUS shows them
(:meth:`~pytest_artemis.findings.Finding.shown_value`), with the raw value in ``data-value`` for tools.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_artemis import theme
from pytest_artemis.findings import Finding
from pytest_artemis.reporting.html.artifacts import TimeSeries
from pytest_artemis.reporting.html.markup import (
    ROLE_OF_STATUS,
    badge,
    esc,
    figure_row,
    limit_text,
    mark,
    more,
    outcome_badge,
    table,
)
from pytest_artemis.reporting.html.model import HEADLINE, Report, ScenarioRun
from pytest_artemis.reporting.html.svg import Band, Chart, Line, line_chart

__all__ = ["SECTIONS", "deployment", "readiness", "threats", "timeline", "vitals"]

#: Panel id -> title (the theme's dashboard sections).
SECTIONS: dict[str, str] = dict(zip(
    ("mission-status", "system-vitals", "threat-detection", "operational-readiness", "resource-deployment",
     "tactical-intelligence"), theme.DASHBOARD_SECTIONS, strict=True))


def _section(panel: str, body: str, wide: bool = False) -> str:
    return (f'<section class="panel{" wide" if wide else ""}" id="{panel}" data-panel="{panel}">'
            f'<h2>{esc(SECTIONS[panel])}</h2>{body}</section>')


def _run_title(run: ScenarioRun) -> str:
    return (f'<h3><span class="scenario">{esc(run.scenario or "load")}</span> {outcome_badge(run.outcome)}</h3>'
            f'<p class="nodeid">{esc(run.nodeid)}</p>')


def _bands(ts: TimeSeries) -> list[Band]:
    return [Band(start, end, f"fault {name}") for start, end, name in ts.fault_windows]


def _phases(ts: TimeSeries) -> list[tuple[float, float, str]]:
    if len(ts.phases) < 2 and not any(p[2] not in ("", "steady") for p in ts.phases):
        return []
    return [(start, end, f"{label} {users}u".strip()) for start, end, label, users in ts.phases]


def _limit(f: Finding | None, label: str) -> tuple[float, str] | None:
    if f is None or not isinstance(f.limit, (int, float)):
        return None
    return float(f.limit), f"{label} limit {limit_text(f)}"


# ------------------------------------------------------------------------------------------ System Vitals


def vitals(report: Report) -> str:
    charted = [run for run in report.scenarios if run.series]
    parts: list[str] = []
    for run in charted:
        for ts in run.series:
            charts = []
            if ts.memory_mib:
                charts.append(line_chart(Chart([Line("target resident memory", ts.memory_mib, theme.GREEN)],
                                               "target memory over the run", "MiB", bands=_bands(ts)), esc))
            lines = [Line("target CPU", ts.target_cpu, theme.GREEN)] if ts.target_cpu else []
            if ts.generator_cpu:
                lines.append(Line("load generator CPU (busiest Locust process)", ts.generator_cpu, theme.YELLOW,
                                  dashed=True))
            if lines:
                charts.append(line_chart(Chart(lines, "CPU over the run", "% of one core", bands=_bands(ts)), esc))
            missing = [what for what, have in (("target CPU", ts.target_cpu), ("target memory", ts.memory_mib))
                       if not have]
            note = (f'<p class="note">{esc(", ".join(missing))}: no samples in this run\'s time series</p>'
                    if missing else "")
            parts.append(f'<div class="run">{_run_title(run)}{note}<div class="charts">{"".join(charts)}</div></div>')
    if not parts:
        parts.append('<p class="empty">no samples: target CPU and memory come from the load runs\' time series '
                     '(timeseries.json), and no run recorded one</p>')
    return _section("system-vitals", "".join(parts))


# ---------------------------------------------------------------------------------- Operational Readiness


def _kpis(run: ScenarioRun) -> str:
    tiles = []
    for key, label, _ in HEADLINE:
        f = run.headline.get(key)
        if f is None:
            tiles.append(f'<div class="kpi none" data-figure="{key}"><span class="kpi-label">{esc(label)}</span>'
                         f'<span class="kpi-value">-</span><span class="kpi-limit">not measured</span></div>')
            continue
        role = ROLE_OF_STATUS.get(f.status, "info")
        tiles.append(f'<div class="kpi {role}" data-figure="{key}" data-name="{esc(f.figure)}" '
                     f'data-value="{esc(f.value)}" data-limit="{esc(f.limit)}" data-status="{esc(f.status)}">'
                     f'<span class="kpi-label">{esc(label)}</span><span class="kpi-value">{esc(f.shown_value())}'
                     f'</span><span class="kpi-limit">limit {esc(limit_text(f))}</span>{mark(f.status)}</div>')
    return f'<div class="kpis">{"".join(tiles)}</div>'


def _run_charts(run: ScenarioRun, ts: TimeSeries) -> str:
    def pts(values: Sequence[float | None]) -> list[tuple[float, float | None]]:
        return list(zip(ts.t, values, strict=False))

    if not ts.t:
        return '<p class="note">the time series holds no samples</p>'
    latency = Chart([Line("p50", pts(ts.p50), theme.FOREGROUND), Line("p95", pts(ts.p95), theme.YELLOW),
                     Line("p99", pts(ts.p99), theme.RED)], "latency over time", "ms", bands=_bands(ts),
                    phases=_phases(ts), limit=_limit(run.headline.get("p95"), "p95"))
    throughput = Chart([Line("requests/s", pts(ts.rps), theme.GREEN),
                        Line("failures/s", pts(ts.failures), theme.RED),
                        Line("users", pts(ts.users), theme.YELLOW, step=True, right=True)],
                       "throughput over time", "req/s", bands=_bands(ts), phases=_phases(ts),
                       limit=_limit(run.headline.get("throughput"), "throughput"))
    return line_chart(latency, esc) + line_chart(throughput, esc)


def _trend(run: ScenarioRun) -> str:
    if not run.history:
        return '<p class="note">trend: no green runs of this scenario in the history store</p>'
    def series(key: str) -> list[tuple[float, float | None]]:
        return [(float(i + 1), r.get(key) if isinstance(r.get(key), (int, float)) else None)
                for i, r in enumerate(run.history)]
    chart = Chart([Line("p95", series("p95_ms"), theme.YELLOW), Line("p99", series("p99_ms"), theme.RED)],
                  f"trend: p95/p99 of the last {len(run.history)} green runs", "ms", x_label="green run")
    return f'<div class="trend">{line_chart(chart, esc)}</div>'


def readiness(report: Report) -> str:
    parts = []
    for run in report.scenarios:
        charts = "".join(_run_charts(run, ts) for ts in run.series)
        notes = "".join(f'<p class="note">{esc(n)}</p>' for n in run.notes)
        if not run.series and not run.notes:
            notes = '<p class="note">no time series recorded for this run</p>'
        figures = ""
        if run.figures:
            rows = table(["figure", "where", "value", "limit", "mark"], (figure_row(f) for f in run.figures))
            figures = (f'<details class="figures"{" open" if len(run.figures) <= 8 else ""}><summary>'
                       f'{len(run.figures)} more judged figures</summary>{rows}</details>')
        parts.append(f'<article class="run scenario-run" data-scenario="{esc(run.scenario)}" '
                     f'data-nodeid="{esc(run.nodeid)}">{_run_title(run)}{_kpis(run)}'
                     f'<div class="charts">{charts}{_trend(run)}</div>{notes}{figures}</article>')
    if not report.scenarios:
        parts.append('<p class="empty">no load scenario ran in this session</p>')
    if report.live_figures:
        headers = ["test", "figure", "where", "value", "limit", "mark"]
        broken = [(n, f) for n, f in report.live_figures if f.problem]
        held = [(n, f) for n, f in report.live_figures if not f.problem]
        parts.append("<h3>other live gates</h3>")
        if broken:
            parts.append(table(headers, (figure_row(f, n) for n, f in broken), "live-figures"))
        if held:
            rows = table(headers, (figure_row(f, n) for n, f in held), "live-figures")
            parts.append(f'<details class="figures"{" open" if len(held) <= 12 else ""}><summary>{len(held)} '
                         f'figure(s) within their limits</summary>{rows}</details>')
        parts.append(more(report.hidden["figures"], "figures"))
    return _section("operational-readiness", "".join(parts), wide=True)


# --------------------------------------------------------------------------------------- Threat Detection


def threats(report: Report) -> str:
    counts = {s: sum(1 for _, f in report.problems if f.severity == s) for s in ("critical", "warning", "info")}
    roles = {"critical": "critical", "warning": "warning", "info": "info"}
    tiles = "".join(f'<button type="button" class="count {roles[s]}" data-severity="{s}" aria-pressed="false">'
                    f'<b>{n}</b> {s}</button>' for s, n in counts.items())
    groups: list[str] = []
    for severity in ("critical", "warning", "info"):
        by_object: dict[str, list[tuple[str, Finding]]] = {}
        for nodeid, f in report.problems:
            if f.severity == severity:
                by_object.setdefault(f.obj or nodeid or "(no object)", []).append((nodeid, f))
        if not by_object:
            continue
        items = []
        for obj, found in by_object.items():
            rows = []
            for nodeid, f in found:
                container = f"container {f.container}: " if f.container else ""
                fix = f'<p class="fix"><b>fix</b> {esc(f.fix)}</p>' if f.fix else ""
                rows.append(f'<li class="finding" data-check="{esc(f.check)}">{mark(f.status)} '
                            f'<code>{esc(f.check)}</code> {esc(container + f.message)}{fix}'
                            f'<p class="nodeid">{esc(nodeid)}</p></li>')
            items.append(f'<details open class="object"><summary>{esc(obj)} <span class="n">{len(found)}</span>'
                         f'</summary><ul>{"".join(rows)}</ul></details>')
        groups.append(f'<div class="severity-group" data-severity="{severity}"><h3>'
                      f'{badge(severity, roles[severity])} {sum(len(v) for v in by_object.values())} finding(s)</h3>'
                      f'{"".join(items)}</div>')
    body = f'<div class="counts">{tiles}</div>' + ("".join(groups) if groups else
                                                 '<p class="empty">no threats detected: no failed or inconclusive '
                                                 'finding</p>')
    return _section("threat-detection", body + more(report.hidden["problems"], "findings"))


# ------------------------------------------------------------------------------------ Resource Deployment


def deployment(report: Report) -> str:
    parts = []
    if report.objects:
        headers = ["object", "file", "replicas", "outcome", "findings"]
        flagged: list[list[str]] = []
        clean: list[list[str]] = []
        for test, obj, file in report.objects:
            problems = [f for f in test.findings if f.problem]
            counts = {s: sum(1 for f in problems if f.severity == s) for s in ("critical", "warning", "info")}
            found = " ".join(badge(f"{n} {s}", s) for s, n in counts.items() if n) or badge("clean", "ok")
            replicas = next((str(f.details["replicas"]) for f in test.findings if "replicas" in f.details), "-")
            row = [f'<span class="mono">{esc(obj)}</span>', f'<span class="nodeid">{esc(file)}</span>',
                   esc(replicas), outcome_badge(test.outcome), found]
            (flagged if problems or test.outcome in ("failed", "error") else clean).append(row)
        parts.append(f'<p class="summary-line">{len(report.objects) + report.hidden["objects"]:,} objects gated: '
                     f'{len(flagged)} with findings, {len(clean)} clean (of {len(report.objects)} listed)</p>')
        if flagged:
            parts.append(table(headers, flagged, "objects"))
        if clean:
            parts.append(f'<details class="figures"{" open" if len(clean) <= 12 else ""}><summary>{len(clean)} '
                         f'clean object(s)</summary>{table(headers, clean, "objects")}</details>')
        parts.append(more(report.hidden["objects"], "objects"))
    else:
        parts.append('<p class="empty">no manifest gate ran: no objects to list</p>')
    if report.rollout:
        rows = [[f'<span class="nodeid">{esc(t.nodeid)}</span>', outcome_badge(t.outcome),
                 esc("; ".join(f"{f.figure} {f.shown_value()}" for f in t.measured) or t.message or "-")]
                for t in report.rollout]
        parts.append("<h3>rollout</h3>" + table(["test", "outcome", "figures"], rows, "rollout"))
    return _section("resource-deployment", "".join(parts))


# ----------------------------------------------------------------------------------- Tactical Intelligence


def timeline(report: Report) -> str:
    if not report.events:
        body = '<p class="empty">no notable events: no fault switched, no abort, no invalid run, no alert</p>'
    else:
        items = "".join(f'<li class="event {esc(e.role)}"><span class="dot" aria-hidden="true"></span>'
                        f'<time>{esc(e.when or "-")}</time><span class="what">{esc(e.text)}</span>'
                        f'<span class="nodeid">{esc(e.source)}</span></li>' for e in report.events)
        body = f'<ol class="timeline">{items}</ol>' + more(report.hidden["events"], "events")
    return _section("tactical-intelligence", body)
