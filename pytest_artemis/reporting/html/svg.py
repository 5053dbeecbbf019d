"""Inline SVG line charts of the mission report, generated in Python (no script, no library, no network).

:func:`line_chart` draws lines over a shared x axis (seconds, or run numbers for a trend) with an optional
right axis (users), shaded bands (faults switched on), phase dividers with their labels and a dashed limit
line; the legend is HTML under the chart, so it stays readable when the chart shrinks to a phone's width.
Colours come from :mod:`pytest_artemis.theme`. Every text is escaped and redacted by the caller's ``text``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pytest_artemis import theme

__all__ = ["Band", "Chart", "Line", "line_chart", "nice_max"]

WIDTH, HEIGHT = 560, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 54, 48, 24, 44


@dataclass
class Line:
    label: str
    points: Sequence[tuple[float, float | None]]
    colour: str
    dashed: bool = False
    step: bool = False
    right: bool = False  # drawn against the right axis
    unit: str = ""


@dataclass
class Band:
    start: float
    end: float
    label: str
    colour: str = theme.RED


@dataclass
class Chart:
    lines: list[Line]
    title: str
    unit: str
    x_label: str = "seconds"
    bands: list[Band] = field(default_factory=list)
    phases: list[tuple[float, float, str]] = field(default_factory=list)
    limit: tuple[float, str] | None = None  # (value, label) on the left axis


def nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if not value or value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * 0.999)


def nice_max(value: float, ticks: int = 4) -> tuple[float, float]:
    """(top, step): an axis from 0 to ``top`` >= ``value`` in ``ticks`` or fewer steps of a round size."""
    step = nice_step(value / ticks)
    return step * max(1, math.ceil(value / step - 1e-9)), step


def _fmt(value: float) -> str:
    if value >= 10000:
        return f"{value / 1000:,.0f}k"
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _path(points: Sequence[tuple[float, float | None]], sx: Callable[[float], float],
          sy: Callable[[float], float], step: bool) -> str:
    parts: list[str] = []
    pen_up = True
    for x, y in points:
        if y is None:
            pen_up = True
            continue
        px, py = sx(x), sy(y)
        if pen_up:
            parts.append(f"M{px:.1f} {py:.1f}")
        elif step:
            parts.append(f"H{px:.1f}V{py:.1f}")
        else:
            parts.append(f"L{px:.1f} {py:.1f}")
        pen_up = False
    return "".join(parts)


def line_chart(chart: Chart, text: Callable[[str], str]) -> str:
    """A ``<figure>`` with the chart as inline SVG and its legend; ``text`` escapes (and redacts) labels."""
    drawn = [ln for ln in chart.lines if any(y is not None for _, y in ln.points)]
    xs = [x for ln in drawn for x, _ in ln.points] + [b.end for b in chart.bands] + [p[1] for p in chart.phases]
    x_min = 0.0 if chart.x_label == "seconds" else min((x for ln in drawn for x, _ in ln.points), default=0.0)
    x_max = max(xs, default=1.0)
    if x_max <= x_min:
        x_max = x_min + 1
    x_step = max(1.0, nice_step((x_max - x_min) / 4)) if chart.x_label != "seconds" else nice_step(x_max / 4)
    left = [y for ln in drawn if not ln.right for _, y in ln.points if y is not None]
    if chart.limit is not None:
        left.append(chart.limit[0])
    y_max, y_step = nice_max(max(left, default=1.0))
    right = max((y for ln in drawn if ln.right for _, y in ln.points if y is not None), default=1.0)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def sx(x: float) -> float:
        return _LEFT + (x - x_min) / (x_max - x_min) * plot_w

    def sy(y: float, top: float = y_max) -> float:
        return _TOP + plot_h - min(max(y, 0.0), top) / top * plot_h

    out = [(f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{text(chart.title)}" '
            f'preserveAspectRatio="xMidYMid meet"><title>{text(chart.title)}</title>')]
    for band in chart.bands:
        x0, x1 = sx(max(band.start, x_min)), sx(min(band.end, x_max))
        out.append(f'<rect class="band" x="{x0:.1f}" y="{_TOP}" width="{max(x1 - x0, 1.5):.1f}" height="{plot_h}" '
                   f'fill="{band.colour}" fill-opacity="0.16"><title>{text(band.label)}</title></rect>')
    steps = round(y_max / y_step)
    r_max = nice_step(right / steps) * steps  # the right axis shares the left's grid lines
    for i in range(steps + 1):
        y = sy(i * y_step)
        out.append(f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(i * y_step)}</text>')
        if any(ln.right for ln in drawn):
            out.append(f'<text class="tick" x="{WIDTH - _RIGHT + 6}" y="{y + 4:.1f}">{_fmt(r_max * i / steps)}</text>')
    tick = math.ceil(x_min / x_step - 1e-9) * x_step
    while tick <= x_max + 1e-9:
        out.append(f'<text class="tick" x="{sx(tick):.1f}" y="{_TOP + plot_h + 18}" text-anchor="middle">{_fmt(tick)}</text>')
        tick += x_step
    out.append(f'<text class="axis" x="{WIDTH - _RIGHT}" y="{HEIGHT - 4}" text-anchor="end">{text(chart.x_label)}'
               f'</text><text class="axis" x="{_LEFT}" y="{_TOP - 8}">{text(chart.unit)}</text>')
    for start, _, label in chart.phases:
        if start > x_min:
            x = sx(start)
            out.append(f'<line class="phase" x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_TOP + plot_h}"/>')
        if label:
            out.append(f'<text class="phase-label" x="{sx(max(start, x_min)) + 4:.1f}" y="{_TOP + 14}">'
                       f'{text(label)}</text>')
    if chart.limit is not None:
        y = sy(chart.limit[0])
        out.append(f'<line class="limit" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{theme.RED}"/>')
    for ln in drawn:
        top = r_max if ln.right else y_max
        d = _path(ln.points, sx, functools.partial(sy, top=top), ln.step)
        dash = ' stroke-dasharray="5 4"' if ln.dashed else ""
        out.append(f'<path class="series" d="{d}" stroke="{ln.colour}"{dash}><title>{text(ln.label)}</title></path>')
        if len([p for p in ln.points if p[1] is not None]) == 1:  # a single point: a dot, not an empty path
            only_x, only_y = next(p for p in ln.points if p[1] is not None)
            out.append(f'<circle cx="{sx(only_x):.1f}" cy="{sy(only_y or 0.0, top):.1f}" r="3" fill="{ln.colour}"/>')
    out.append(f'<rect class="frame" x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}"/></svg>')
    legend = [f'<span class="key"><i style="background:{ln.colour}"></i>{text(ln.label)}'
              f'{" (right axis)" if ln.right else ""}</span>' for ln in drawn]
    if chart.limit is not None:
        legend.append(f'<span class="key"><i class="dash" style="background:{theme.RED}"></i>'
                      f'{text(chart.limit[1])}</span>')
    legend += [f'<span class="key"><i class="area" style="background:{b.colour}"></i>{text(b.label)}</span>'
               for b in _unique(chart.bands)]
    return (f'<figure class="chart"><figcaption class="chart-title">{text(chart.title)}</figcaption>'
            f'{"".join(out)}<div class="legend">{"".join(legend)}</div></figure>')


def _unique(bands: list[Band]) -> list[Band]:
    seen: dict[str, Band] = {}
    for band in bands:
        seen.setdefault(band.label, band)
    return list(seen.values())
