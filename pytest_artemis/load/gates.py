"""Baseline gates over a :class:`~pytest_artemis.load.results.RunResult`: each returns a :class:`GateResult`.

Gates never assert: they state the figure, the limit (with tolerance), the endpoint and the window,
and whether it held. The fixtures record every result and fail the test once with all failures.
Families: baseline (p95, p99, error rate, throughput, availability, per endpoint), time windows
(:class:`WindowMonitor`, also used live to abort a run on a sustained breach), regression against the
last green runs (:class:`History`), generator health, spike recovery, scalability knee and memory growth.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_artemis.baselines import Baseline
from pytest_artemis.load.results import RunResult, Sample, Summary

__all__ = [
    "CPU_SATURATION_PERCENT",
    "LAG_SATURATION_MS",
    "Breach",
    "GateResult",
    "History",
    "WindowMonitor",
    "baseline_gates",
    "generator_health",
    "knee",
    "knee_gate",
    "memory_gate",
    "memory_slope",
    "recovery_gate",
    "recovery_seconds",
    "regression_gate",
    "window_gate",
]

CPU_SATURATION_PERCENT = 90.0
LAG_SATURATION_MS = 10.0


@dataclass(frozen=True)
class GateResult:
    """One assertion: the measured figure against its limit."""

    name: str
    value: float | None
    limit: float | None
    unit: str
    comparison: str  # how value must relate to limit: "<=" or ">="
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def _compare(name: str, value: float | None, limit: float, unit: str, comparison: str, what: str,
             where: str = "", tolerance: float = 0.0, base: float | None = None, **details: Any) -> GateResult:
    if value is None:
        return GateResult(name, None, limit, unit, comparison, False, f"{what}: no data{where}", details)
    passed = value <= limit if comparison == "<=" else value >= limit
    sign = {"<=": (">", "<="), ">=": ("<", ">=")}[comparison][0 if not passed else 1]
    head = f"{what} {value:,.1f} {unit} {sign} "
    if tolerance and base is not None:
        head += f"baseline {base:,.1f} {unit} (+{tolerance:g}% tolerance: {limit:,.1f} {unit})"
    else:
        head += f"limit {limit:,.1f} {unit}"
    return GateResult(name, round(value, 3), round(limit, 3), unit, comparison, passed, head + where, details)


def baseline_gates(result: RunResult, baseline: Baseline, *, throughput_note: str = "",
                   throughput_limit: float | None = None) -> list[GateResult]:
    """p95, p99, error rate, throughput and availability of the whole run, and per configured endpoint."""
    total = result.total
    window = f" over the whole run ({result.load_seconds:.1f} s, {total.requests:,} requests)"
    tol = baseline.tolerance_percent
    out = [
        _compare("p95_ms", total.p(95), baseline.limit_with_tolerance("p95_ms"), "ms", "<=", "p95", window,
                 tol, baseline.p95_ms),
        _compare("p99_ms", total.p(99), baseline.limit_with_tolerance("p99_ms"), "ms", "<=", "p99", window,
                 tol, baseline.p99_ms),
        _compare("error_rate_percent", total.error_rate_percent if total.requests else None,
                 baseline.error_rate_percent, "%", "<=", "error rate", window
                 + (f"; top error: {max(total.errors.items(), key=lambda kv: kv[1])[0]}" if total.errors else "")),
    ]
    limit = baseline.throughput_rps if throughput_limit is None else throughput_limit
    out.append(_compare("throughput_rps", result.rps if total.requests else None, limit, "req/s", ">=",
                        "throughput", window + throughput_note, baseline=baseline.throughput_rps))
    if result.availability_percent is not None:
        out.append(_compare("availability_percent", result.availability_percent, baseline.availability_percent, "%",
                            ">=", "availability", f" ({len(result.health)} health checks during the run)"))
    endpoints = result.endpoints
    for endpoint, figures in baseline.endpoints.items():
        summary = endpoints.get(endpoint)
        where = f" for {endpoint}" + (f" ({summary.requests:,} requests)" if summary else " (no requests seen)")
        for key, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
            if key in figures:
                base = float(figures[key])
                out.append(_compare(f"{endpoint} {key}", summary.p(q) if summary else None, base * (1 + tol / 100),
                                    "ms", "<=", key.split("_")[0], where, tol, base, endpoint=endpoint))
        if "error_rate_percent" in figures:
            out.append(_compare(f"{endpoint} error_rate_percent", summary.error_rate_percent if summary else None,
                                float(figures["error_rate_percent"]), "%", "<=", "error rate", where,
                                endpoint=endpoint))
    return out


# --------------------------------------------------------------------------- time windows


@dataclass(frozen=True)
class Breach:
    start: float
    end: float
    value: float


class WindowMonitor:
    """A rolling SLO over the last ``window`` seconds, fed one sample at a time (live or afterwards).

    ``breached_for`` is how long the SLO has been broken without a break; :attr:`abort` is set once it
    was broken for ``abort_after`` seconds in a row (None: never abort).
    """

    def __init__(self, metric: str, limit: float, window: float = 10.0, abort_after: float | None = None,
                 min_requests: int = 20) -> None:
        if metric not in ("p95_ms", "p99_ms", "error_rate_percent"):
            raise ValueError(f"window metric {metric!r}: expected p95_ms, p99_ms or error_rate_percent")
        self.metric, self.limit, self.window = metric, limit, max(1.0, window)
        self.abort_after, self.min_requests = abort_after, min_requests
        self._recent: deque[Sample] = deque()
        self.worst: Breach | None = None
        self.highest: Breach | None = None  # the highest full-window value, broken or not
        self.first_breach: Breach | None = None
        self.breached_for = 0.0
        self.abort: Breach | None = None

    def _value(self, total: Summary) -> float | None:
        if total.requests < self.min_requests:
            return None
        if self.metric == "error_rate_percent":
            return total.error_rate_percent
        return total.p(95 if self.metric == "p95_ms" else 99)

    def feed(self, sample: Sample) -> Breach | None:
        """Add one second; returns the breach of the window ending with it, if any."""
        self._recent.append(sample)
        while self._recent and self._recent[0].t <= sample.t - self.window:
            self._recent.popleft()
        if sample.t + 1 - self._recent[0].t < self.window:
            return None  # not yet a full window
        total = Summary()
        for s in self._recent:
            total.add(s.total)
        value = self._value(total)
        if value is not None and (self.highest is None or value > self.highest.value):
            self.highest = Breach(self._recent[0].t, sample.t + 1, value)
        if value is None or value <= self.limit:
            self.breached_for = 0.0
            return None
        breach = Breach(self._recent[0].t, sample.t + 1, value)
        self.first_breach = self.first_breach or breach
        if self.worst is None or value > self.worst.value:
            self.worst = breach
        self.breached_for += 1.0
        if self.abort_after is not None and self.abort is None and self.breached_for >= self.abort_after:
            self.abort = breach
        return breach

    def describe(self, breach: Breach) -> str:
        unit = "%" if self.metric == "error_rate_percent" else "ms"
        return (f"{self.metric.split('_ms')[0].replace('_percent', '').replace('_', ' ')} {breach.value:,.1f} {unit} "
                f"> limit {self.limit:,.1f} {unit} in the {self.window:g} s window {breach.start:g}-{breach.end:g} s")


def window_gate(result: RunResult, monitor: WindowMonitor) -> GateResult:
    """Replay the run through ``monitor``: passes when no window broke the SLO."""
    fresh = WindowMonitor(monitor.metric, monitor.limit, monitor.window, monitor.abort_after, monitor.min_requests)
    for sample in result.samples:
        fresh.feed(sample)
    name = f"{monitor.metric} per {monitor.window:g} s window"
    unit = "%" if monitor.metric == "error_rate_percent" else "ms"
    if fresh.worst is None:
        highest = fresh.highest
        shown = (f"; highest {highest.value:,.1f} {unit} in the window {highest.start:g}-{highest.end:g} s"
                 if highest is not None else f"; no full window with {monitor.min_requests} requests")
        return GateResult(name, None if highest is None else round(highest.value, 3), monitor.limit, unit, "<=", True,
                          f"every {monitor.window:g} s window held {monitor.metric} <= {monitor.limit:,.1f} {unit}"
                          + shown, {} if highest is None else {"window_start": highest.start,
                                                                "window_end": highest.end})
    message = "worst: " + fresh.describe(fresh.worst)
    if result.aborted:
        message = f"run aborted: {result.aborted}; " + message
    return GateResult(name, round(fresh.worst.value, 3), monitor.limit, unit, "<=", False, message,
                      {"window_start": fresh.worst.start, "window_end": fresh.worst.end})


# --------------------------------------------------------------------------- regression against green runs


class History:
    """Per-scenario JSON history of runs (``DIR/SCENARIO.json``), newest last, bounded in length."""

    def __init__(self, directory: Path, scenario: str, keep: int = 50) -> None:
        self.path = Path(directory) / f"{scenario}.json"
        self.keep = keep
        self.problem = ""  # why the file could not be read ('' when it could, or does not exist yet)

    def runs(self) -> list[dict[str, Any]]:
        """The runs on file; an unreadable file counts as no runs (never blocks a release) and sets :attr:`problem`."""
        self.problem = ""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as err:
            self.problem = f"{self.path} cannot be read: {err}"
            return []
        if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
            self.problem = f"{self.path}: expected a JSON object with a 'runs' list, got {type(data).__name__}"
            return []
        return [r for r in data["runs"] if isinstance(r, dict)]

    def green(self) -> list[dict[str, Any]]:
        return [r for r in self.runs() if r.get("green")]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write of the file across processes (parallel test workers share it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / f".{self.path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, figures: dict[str, Any], green: bool) -> None:
        with self._locked():
            runs = (self.runs() + [{"time": time.time(), "green": green, **figures}])[-self.keep:]
            if self.problem and self.path.exists():  # keep the unreadable file for a person to look at
                os.replace(self.path, self.path.with_name(f"{self.path.stem}.unreadable-{int(time.time())}.json"))
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".history-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"runs": runs}, fh, indent=1)
            os.replace(tmp, self.path)


def regression_gate(history: History, figures: dict[str, Any], *, key: str = "p95_ms",
                    tolerance_percent: float = 25.0, noise_floor: float = 5.0, min_samples: int = 3,
                    match: Sequence[str] = ("plan",)) -> GateResult:
    """Compare ``figures[key]`` with the median of the last green runs (higher is worse).

    Only green runs whose ``match`` figures equal this run's count (by default the plan signature: the same
    scenario figures, workers, user code and chaos seed), so a run is never held to a different plan's latency.
    """
    like = [r for r in history.green() if all(r.get(k) == figures.get(k) for k in match if k in figures)]
    green = [float(r[key]) for r in like[-10:] if r.get(key) is not None]
    value = figures.get(key)
    name = f"{key} regression"
    if len(green) < min_samples or value is None:
        same = " of the same plan" if any(k in figures for k in match) else ""
        problem = f" (history {history.problem}; it is kept aside and started afresh)" if history.problem else ""
        return GateResult(name, value, None, "ms", "<=", True,
                          f"{key}: {len(green)} green run(s){same} in {history.path}{problem}, {min_samples} needed "
                          "to compare; gate not applied", {"green_runs": len(green)})
    reference = statistics.median(green)
    limit = max(reference * (1 + tolerance_percent / 100), reference + noise_floor)
    passed = float(value) <= limit
    message = (f"{key} {float(value):,.1f} ms {'<=' if passed else '>'} last green median {reference:,.1f} ms "
               f"(+{tolerance_percent:g}% or +{noise_floor:g} ms noise floor: {limit:,.1f} ms; "
               f"{len(green)} green runs in {history.path})")
    return GateResult(name, float(value), round(limit, 3), "ms", "<=", passed, message,
                      {"reference": reference, "green_runs": len(green)})


# --------------------------------------------------------------------------- generator health


def generator_health(result: RunResult, threshold: float = CPU_SATURATION_PERCENT, sustained: int = 2,
                     lag_ms: float = LAG_SATURATION_MS) -> str:
    """'' when the load generator kept up, else why its figures cannot be trusted.

    Saturated: Locust warned about its CPU, or a Locust process ran above ``threshold`` % CPU, or its event loop
    woke sleepers more than ``lag_ms`` late on average, for ``sustained`` seconds in a row. A late loop means
    requests wait inside the generator (busy or starved of CPU), and their times include that wait.
    """
    if result.cpu_warnings:
        return f"Locust reported CPU above {threshold:g}% in {', '.join(sorted(set(result.cpu_warnings)))}"
    streak: dict[str, int] = {}
    for sample in result.samples:
        for role in set(sample.cpu_percent) | set(sample.lag_ms):
            cpu, lag = sample.cpu_percent.get(role, 0.0), sample.lag_ms.get(role, 0.0)
            streak[role] = streak.get(role, 0) + 1 if cpu > threshold or lag > lag_ms else 0
            if streak[role] >= sustained:
                return (f"Locust {role} ran above {threshold:g}% CPU or with its event loop over {lag_ms:g} ms late "
                        f"for {sustained} s in a row (at {sample.t:g} s: {cpu:.0f}% CPU, loop {lag:.1f} ms late)")
    return ""


# --------------------------------------------------------------------------- spike recovery


def recovery_seconds(result: RunResult, reference_end: float, disturbance_end: float, tolerance_percent: float,
                     floor_ms: float = 5.0, settle: int = 2) -> tuple[float | None, dict[str, Any]]:
    """Seconds after ``disturbance_end`` until p95 and error rate are back near the level before ``reference_end``.

    The level before is the p95 and error rate of the samples from 1 s to ``reference_end`` (the first second
    warms up). Back means ``settle`` consecutive seconds within (1 + tolerance) x p95 (at least + ``floor_ms``)
    and an error rate at most the level before + 1 point. None when it never came back.
    """
    reference, _, _ = result.window(1.0, reference_end)
    if not reference.requests:
        reference, _, _ = result.window(0.0, reference_end)
    ref_p95 = reference.p(95) or 0.0
    limit = max(ref_p95 * (1 + tolerance_percent / 100), ref_p95 + floor_ms)
    err_limit = reference.error_rate_percent + 1.0
    details = {"reference_p95_ms": round(ref_p95, 3), "p95_limit_ms": round(limit, 3),
               "reference_error_rate_percent": round(reference.error_rate_percent, 3)}
    run = 0
    for sample in result.samples:
        if sample.t < disturbance_end:
            continue
        ok = sample.total.requests > 0 and (sample.total.p(95) or 0) <= limit and \
            sample.total.error_rate_percent <= err_limit
        run = run + 1 if ok else 0
        if run >= settle:
            return round(max(0.0, sample.t - settle + 1 - disturbance_end), 3), details
    return None, details


def recovery_gate(seconds: float | None, details: dict[str, Any], limit: float, what: str) -> GateResult:
    if seconds is None:
        return GateResult("recovery_seconds", None, limit, "s", "<=", False,
                          f"no recovery after {what}: p95 never returned below {details['p95_limit_ms']:,.1f} ms "
                          f"(level before: {details['reference_p95_ms']:,.1f} ms) before the run ended", details)
    passed = seconds <= limit
    return GateResult("recovery_seconds", seconds, limit, "s", "<=", passed,
                      f"recovery after {what} {seconds:g} s {'<=' if passed else '>'} limit {limit:g} s "
                      f"(p95 back under {details['p95_limit_ms']:,.1f} ms)", details)


# --------------------------------------------------------------------------- scalability knee


def knee(steps: Sequence[tuple[int, float, float | None, float]], p95_limit: float, error_limit: float,
         min_growth: float = 0.5) -> tuple[int | None, list[dict[str, Any]]]:
    """The highest user step (users, rps, p95, error %) where the SLO holds and RPS still grows.

    RPS grows when it rises by at least ``min_growth`` of the proportional rise in users. Returns the knee
    (None when even the first step breaks the SLO) and a table of the steps with their verdicts.
    """
    table, best, prev = [], None, None
    for users, rps, p95, errors in steps:
        slo = p95 is not None and p95 <= p95_limit and errors <= error_limit
        grows = prev is None or rps >= prev[1] * (1 + min_growth * (users / prev[0] - 1))
        table.append({"users": users, "rps": round(rps, 2), "p95_ms": None if p95 is None else round(p95, 3),
                      "error_rate_percent": round(errors, 3), "slo": slo, "grows": grows})
        if not (slo and grows):
            break
        best, prev = users, (users, rps)
    return best, table


def knee_gate(knee_users: int | None, limit: int, planned_max: int, table: list[dict[str, Any]]) -> GateResult:
    effective = min(limit, planned_max)
    note = (f" (baseline {limit} users, scaled to this profile's highest step of {planned_max})"
            if effective < limit else "")
    passed = knee_users is not None and knee_users >= effective
    shown = "none" if knee_users is None else f"{knee_users} users"
    return GateResult("knee_users", knee_users, effective, "users", ">=", passed,
                      f"knee at {shown} {'>=' if passed else '<'} {effective} users{note}", {"steps": table})


# --------------------------------------------------------------------------- memory growth


def memory_slope(points: Iterable[tuple[float, float]], skip_seconds: float = 1.0) -> float | None:
    """Least-squares slope of resident memory in MB per minute (None with fewer than 3 points)."""
    pts = [(t, b / 2**20) for t, b in points if t >= skip_seconds]
    if len(pts) < 3:
        return None
    mt = sum(t for t, _ in pts) / len(pts)
    mb = sum(b for _, b in pts) / len(pts)
    var = sum((t - mt) ** 2 for t, _ in pts)
    if math.isclose(var, 0.0):
        return None
    return 60.0 * sum((t - mt) * (b - mb) for t, b in pts) / var


def memory_gate(points: Sequence[tuple[float, float]], limit: float, source: str) -> GateResult:
    slope = memory_slope(points)
    where = f" (least-squares fit of {len(points)} resident-memory samples from {source})"
    return _compare("memory_growth_mb_per_minute", slope, limit, "MB/min", "<=", "memory growth", where)
