"""What the mission report reads besides the verdict: each load run's ``timeseries.json`` and the history store.

Paths come from the verdict (artifact paths, ``config.history``, ``session_dir``) and may point to where the
session ran; :func:`locate` also tries them under ``artifacts_root`` (e.g. a CI artifact downloaded elsewhere).
:class:`TimeSeries` keeps only what the charts need, downsampled to at most :data:`MAX_POINTS` points, so a
long endurance run costs the report no more than a short one. Nothing here raises on a missing or broken
file: the report says what it could not read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

__all__ = ["MAX_POINTS", "TimeSeries", "green_runs", "load_timeseries", "locate"]

#: Points per chart line at most (buckets: the max of latency and the mean of rates per bucket).
MAX_POINTS = 360
_MAX_FILE_BYTES = 64 * 1024 * 1024

Point = tuple[float, float]


def locate(raw: str, artifacts_root: Path | None, session_dir: str = "") -> Path | None:
    """The existing file or directory ``raw`` names: as written, under ``artifacts_root``, or relocated there
    relative to the session directory (its parent or itself); None when none exists."""
    if not raw:
        return None
    path = PurePath(raw)
    candidates: list[Path] = [Path(path)]
    roots = [artifacts_root] if artifacts_root is not None else []
    roots.append(Path.cwd())
    for root in roots:
        if not path.is_absolute():
            candidates.append(root / path)
        if session_dir:
            session = PurePath(session_dir)
            for base in (session.parent, session):
                try:
                    candidates.append(root / path.relative_to(base))
                except ValueError:
                    pass
    return next((c for c in candidates if c.exists()), None)


@dataclass
class TimeSeries:
    """The chartable part of one load run's ``timeseries.json``."""

    t: list[float] = field(default_factory=list)
    p50: list[float | None] = field(default_factory=list)
    p95: list[float | None] = field(default_factory=list)
    p99: list[float | None] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)
    failures: list[float] = field(default_factory=list)
    users: list[float] = field(default_factory=list)
    generator_cpu: list[Point] = field(default_factory=list)  # highest CPU % of any Locust process
    memory_mib: list[Point] = field(default_factory=list)  # the target's resident memory
    target_cpu: list[Point] = field(default_factory=list)  # the target's CPU %, when the run sampled it
    phases: list[tuple[float, float, str, int]] = field(default_factory=list)  # start, end, label, users
    faults: list[dict[str, Any]] = field(default_factory=list)  # {"t", "fault", "on", "settings"}
    summary: dict[str, Any] = field(default_factory=dict)
    end: float = 0.0

    @property
    def fault_windows(self) -> list[tuple[float, float, str]]:
        """(start, end, fault) of every fault switched on (to the end of the run when never switched off)."""
        out = []
        for entry in self.faults:
            if entry.get("on"):
                start = _num(entry.get("t")) or 0.0
                off = next((_num(e.get("t")) for e in self.faults if e.get("fault") == entry.get("fault")
                            and not e.get("on") and (_num(e.get("t")) or 0.0) >= start), None)
                out.append((start, off if off is not None else self.end, str(entry.get("fault", ""))))
        return out


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _buckets(n: int, limit: int = MAX_POINTS) -> list[range]:
    size = max(1, math.ceil(n / limit))
    return [range(i, min(n, i + size)) for i in range(0, n, size)]


def _fold(values: Sequence[float | None], buckets: list[range], how: str) -> list[float | None]:
    out: list[float | None] = []
    for bucket in buckets:
        seen = [v for v in (values[i] for i in bucket) if v is not None]
        out.append(None if not seen else max(seen) if how == "max" else sum(seen) / len(seen))
    return out


def _points(rows: Any, key: str, scale: float = 1.0) -> list[Point]:
    if not isinstance(rows, list):
        return []
    pts = [(t, v * scale) for t, v in ((_num(r.get("t")), _num(r.get(key))) for r in rows if isinstance(r, dict))
           if t is not None and v is not None]
    buckets = _buckets(len(pts))
    return [(pts[b.start][0], max(pts[i][1] for i in b)) for b in buckets]


def _phases(plan: Any) -> list[tuple[float, float, str, int]]:
    stages = plan.get("shape", {}).get("stages", []) if isinstance(plan, dict) else []
    out, start = [], 0.0
    for stage in stages if isinstance(stages, list) else []:
        until = _num(stage.get("until")) if isinstance(stage, dict) else None
        if until is None:
            continue
        out.append((start, until, str(stage.get("label", "")), int(_num(stage.get("users")) or 0)))
        start = until
    return out


def parse_timeseries(data: Mapping[str, Any]) -> TimeSeries:
    """A :class:`TimeSeries` from the JSON of :func:`pytest_artemis.load.charts.write_timeseries`."""
    samples = [s for s in data.get("samples", []) if isinstance(s, dict) and _num(s.get("t")) is not None]
    buckets = _buckets(len(samples))
    ts = TimeSeries(summary=dict(data.get("summary") or {}), phases=_phases(data.get("plan")),
                    faults=[f for f in data.get("faults", []) if isinstance(f, dict)])
    t = [_num(s["t"]) or 0.0 for s in samples]
    ts.t = [t[b.start] for b in buckets]
    for name in ("p50", "p95", "p99"):
        setattr(ts, name, _fold([_num(s.get(f"{name}_ms")) for s in samples], buckets, "max"))
    ts.rps = [v or 0.0 for v in _fold([_num(s.get("rps", s.get("requests"))) for s in samples], buckets, "mean")]
    ts.failures = [v or 0.0 for v in _fold([_num(s.get("failures")) for s in samples], buckets, "mean")]
    ts.users = [v or 0.0 for v in _fold([_num(s.get("users")) for s in samples], buckets, "max")]
    cpu = [max((v for v in (_num(x) for x in (s.get("cpu_percent") or {}).values()) if v is not None), default=None)
           if isinstance(s.get("cpu_percent"), dict) else None for s in samples]
    ts.generator_cpu = [(ts.t[i], v) for i, v in enumerate(_fold(cpu, buckets, "max")) if v is not None]
    ts.memory_mib = _points(data.get("memory"), "bytes", 1 / (1024 * 1024))
    for key in ("target_cpu", "cpu"):  # the target's own CPU samples, when a run records them
        ts.target_cpu = _points(data.get(key), "percent") or _points(data.get(key), "value")
        if ts.target_cpu:
            break
    ends = [*t, *(p[0] for p in ts.memory_mib), *(_num(f.get("t")) or 0.0 for f in ts.faults)]
    ts.end = max([*ends, *(p[1] for p in ts.phases), _num(ts.summary.get("duration_s")) or 0.0], default=0.0)
    return ts


def load_timeseries(path: Path) -> tuple[TimeSeries | None, str]:
    """(the run's time series, '') or (None, why it could not be read)."""
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            return None, f"{path.name} is larger than {_MAX_FILE_BYTES // (1024 * 1024)} MiB"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return None, f"{path.name} cannot be read: {err}"
    if not isinstance(data, dict):
        return None, f"{path.name}: expected a JSON object"
    return parse_timeseries(data), ""


def green_runs(directory: Path | None, scenario: str, profile: str, environment: str, keep: int = 30
               ) -> list[dict[str, Any]]:
    """The last ``keep`` green runs of ``scenario`` in the history store (the file of the session's profile and
    environment, else any of the scenario's files), oldest first; [] when there are none."""
    if directory is None or not scenario:
        return []
    exact = directory / f"{scenario}-{profile}-{environment}.json"
    files = [exact] if exact.is_file() else sorted(directory.glob(f"{scenario}-*.json"))[:4]
    runs: list[dict[str, Any]] = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("runs"), list):
            runs += [r for r in data["runs"] if isinstance(r, dict) and r.get("green")]
    runs.sort(key=lambda r: _num(r.get("time")) or 0.0)
    return runs[-keep:]
