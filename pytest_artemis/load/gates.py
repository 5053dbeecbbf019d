"""Load gates: each is a registered check returning one :class:`~pytest_artemis.findings.Finding` per figure.

A gate states the figure, the limit (with tolerance), the endpoint and the window, and whether it held
(``status``: pass, fail, or inconclusive when there is nothing, or too little, to judge). Gates never
assert; the exercise fails the test once with all failures. Families: baseline (p95, p99, error rate,
throughput, availability, per endpoint), the time window, regression against the last green runs
(:mod:`~pytest_artemis.load.history`), spike/chaos recovery, scalability knee and memory growth. The run's
validity (generator health, lost workers, dropped iterations) lives in :mod:`~pytest_artemis.load.validity`, the
shared finding helpers in :mod:`~pytest_artemis.load.judging`, the live window monitor in
:mod:`~pytest_artemis.load.monitor`. In arrival mode the latency gates judge the times from each request's intended
start (corrected) and name the times from its actual send beside them (``load-latency-uncorrected``, recorded).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from pytest_artemis.baselines import Baseline
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding
from pytest_artemis.load.history import History
from pytest_artemis.load.judging import MIN_REQUESTS, result
from pytest_artemis.load.judging import compare as _compare
from pytest_artemis.load.judging import enough as _enough
from pytest_artemis.load.judging import too_few as _too_few
from pytest_artemis.load.monitor import WindowMonitor
from pytest_artemis.load.results import RunResult
from pytest_artemis.load.validity import (
    CPU_SATURATION_PERCENT,
    LAG_SATURATION_MS,
    dropped_iterations_gate,
    generator_gate,
    generator_health,
    run_validity_gate,
)

__all__ = [
    "CPU_SATURATION_PERCENT",
    "LAG_SATURATION_MS",
    "MIN_REQUESTS",
    "availability_gate",
    "baseline_gates",
    "dropped_iterations_gate",
    "endpoint_gates",
    "error_rate_gate",
    "generator_gate",
    "generator_health",
    "knee",
    "knee_gate",
    "latency_gate",
    "memory_gate",
    "memory_slope",
    "recovery_gate",
    "recovery_seconds",
    "regression_gate",
    "result",
    "run_validity_gate",
    "throughput_gate",
    "uncorrected_latency",
    "window_gate",
]

def _window(run: RunResult) -> str:
    return f" over the whole run ({run.load_seconds:.1f} s, {run.total.requests:,} requests)"


def _uncorrected_note(total: Any, q: int) -> str:
    sent = total.p_uncorrected(q)
    return "" if sent is None else f"; {sent:,.1f} ms from the actual send (uncorrected)"


@check("load-p95", area="load", target="scenario", severity="critical",
       fix="find what slows the slowest 5 % (profile the endpoint named) or raise p95_ms in the baselines file")
def latency_gate(run: RunResult, baseline: Baseline, q: int = 95) -> Finding:
    """p95 (or p99) latency of the whole run is within the baseline plus tolerance."""
    key = f"p{q}_ms"
    total = run.total
    check_id = "load-p95" if q == 95 else "load-p99"
    what, where = f"p{q}", _window(run)
    if total.from_intended:  # arrival mode: the corrected times are judged
        what, where = f"p{q} from the intended start (corrected)", where + _uncorrected_note(total, q)
    return _compare(check_id, key, total.p(q) if _enough(total) else None, baseline.limit_with_tolerance(key), "ms",
                    "<=", what, where, baseline.tolerance_percent, baseline.get(key), no_data=_too_few(total))


@check("load-latency-uncorrected", area="load", target="scenario", severity="info",
       fix="nothing to fix: a corrected figure far above it means requests waited for the target (a stall, a queue) "
           "or for a connection before they were sent")
def uncorrected_latency(run: RunResult, baseline: Baseline) -> list[Finding]:
    """Arrival mode: p95/p99 from each request's actual send, recorded beside the corrected figures the gates judge."""
    total = run.total
    out = []
    for q in (95, 99):
        key = f"p{q}_ms"
        sent, corrected = total.p_uncorrected(q), total.p_corrected(q)
        judged = sent if _enough(total) else None
        message = (f"p{q} from the actual send (uncorrected) {sent:,.1f} ms, from the intended start (corrected, "
                   f"gated) {corrected:,.1f} ms{_window(run)}" if judged is not None and corrected is not None
                   else f"p{q} from the actual send: {_too_few(total)}")
        out.append(result("load-latency-uncorrected", f"{key}_uncorrected", judged,
                          baseline.limit_with_tolerance(key), "ms", "<=", message, status="info",
                          corrected_ms=corrected))
    return out


@check("load-p99", area="load", target="scenario", severity="critical",
       fix="find what slows the slowest 1 % (queues, GC pauses, cold caches) or raise p99_ms in the baselines file")
def p99_gate(run: RunResult, baseline: Baseline) -> Finding:
    """p99 latency of the whole run is within the baseline plus tolerance."""
    return latency_gate(run, baseline, 99)


@check("load-error-rate", area="load", target="scenario", severity="critical",
       fix="look at the top error named in the message and the target's logs")
def error_rate_gate(run: RunResult, baseline: Baseline) -> Finding:
    """The share of failed requests is at most the baseline's error rate."""
    total = run.total
    top = f"; top error: {max(total.errors.items(), key=lambda kv: kv[1])[0]}" if total.errors else ""
    return _compare("load-error-rate", "error_rate_percent", total.error_rate_percent if _enough(total) else None,
                    baseline.error_rate_percent, "%", "<=", "error rate", _window(run) + top, no_data=_too_few(total))


@check("load-throughput", area="load", target="scenario", severity="critical",
       fix="check the target's saturation (CPU, pool) and the generator's; or lower throughput_rps")
def throughput_gate(run: RunResult, baseline: Baseline, limit: float | None = None, note: str = "") -> Finding:
    """Requests per second over the run reach the baseline (scaled to what the plan can send)."""
    return _compare("load-throughput", "throughput_rps", run.rps if run.total.requests else None,
                    baseline.throughput_rps if limit is None else limit, "req/s", ">=", "throughput",
                    _window(run) + note)


@check("load-availability", area="load", target="scenario", severity="critical",
       fix="the health endpoint failed during the run: see the health samples in timeseries.json")
def availability_gate(run: RunResult, baseline: Baseline) -> Finding | None:
    """The share of health checks answered 2xx during the run reaches the baseline's availability."""
    if run.availability_percent is None:
        return None
    return _compare("load-availability", "availability_percent", run.availability_percent,
                    baseline.availability_percent, "%", ">=", "availability",
                    f" ({len(run.health)} health checks during the run)")


@check("load-endpoint", area="load", target="endpoint", severity="critical",
       fix="profile the endpoint named, or adjust its figures under endpoints: in the baselines file")
def endpoint_gates(run: RunResult, baseline: Baseline) -> list[Finding]:
    """Each endpoint with its own baseline figures (p50/p95/p99, error rate) holds them."""
    out: list[Finding] = []
    endpoints, tol = run.endpoints, baseline.tolerance_percent
    for endpoint, figures in baseline.endpoints.items():
        summary = endpoints.get(endpoint)
        where = f" for {endpoint}" + (f" ({summary.requests:,} requests)" if summary else " (no requests seen)")
        judged = summary if _enough(summary, 10) else None
        for key, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
            if key in figures:
                base = float(figures[key])
                out.append(_compare("load-endpoint", key, judged.p(q) if judged else None, base * (1 + tol / 100),
                                    "ms", "<=", key.split("_")[0], where, tol, base, no_data=_too_few(summary, 10),
                                    endpoint=endpoint))
        if "error_rate_percent" in figures:
            out.append(_compare("load-endpoint", "error_rate_percent", judged.error_rate_percent if judged else None,
                                float(figures["error_rate_percent"]), "%", "<=", "error rate", where,
                                no_data=_too_few(summary, 10), endpoint=endpoint))
    return out


def baseline_gates(run: RunResult, baseline: Baseline, *, throughput_note: str = "",
                   throughput_limit: float | None = None) -> list[Finding]:
    """p95, p99, error rate, throughput and availability of the whole run, and per configured endpoint."""
    out = [latency_gate(run, baseline), p99_gate(run, baseline), error_rate_gate(run, baseline),
           throughput_gate(run, baseline, throughput_limit, throughput_note)]
    availability = availability_gate(run, baseline)
    if availability is not None:
        out.append(availability)
    return out + endpoint_gates(run, baseline)


@check("load-window", area="load", target="scenario", severity="critical",
       fix="a burst broke the SLO: see the window named and load.png; look for GC pauses, pool exhaustion, stalls")
def window_gate(run: RunResult, monitor: WindowMonitor) -> Finding:
    """No rolling window of the run broke the p95 SLO (the same monitor aborts a run live)."""
    fresh = WindowMonitor(monitor.metric, monitor.limit, monitor.window, monitor.abort_after, monitor.min_requests)
    for sample in run.samples:
        fresh.feed(sample)
    figure = f"{monitor.metric} per {monitor.window:g} s window"
    unit = "%" if monitor.metric == "error_rate_percent" else "ms"
    if fresh.worst is None:
        highest = fresh.highest
        if highest is None:  # the whole-run gates judge a run shorter than one window
            return result("load-window", figure, None, monitor.limit, unit, "<=",
                          f"no full {monitor.window:g} s window with {monitor.min_requests} requests: the run was "
                          "shorter than one window, so the whole-run gates judge it", status="info")
        return result("load-window", figure, highest.value, monitor.limit, unit, "<=",
                      f"every {monitor.window:g} s window held {monitor.metric} <= {monitor.limit:,.1f} {unit}; "
                      f"highest {highest.value:,.1f} {unit} in the window {highest.start:g}-{highest.end:g} s",
                      window_start=highest.start, window_end=highest.end)
    message = "worst: " + fresh.describe(fresh.worst)
    if run.aborted:
        message = f"run aborted: {run.aborted}; " + message
    return result("load-window", figure, fresh.worst.value, monitor.limit, unit, "<=", message, status="fail",
                  window_start=fresh.worst.start, window_end=fresh.worst.end)


@check("load-regression", area="load", target="scenario", severity="critical",
       fix="compare with the last green run's artifacts; a real slowdown needs a fix, an accepted one a new history")
def regression_gate(history: History, figures: dict[str, Any], *, key: str = "p95_ms",
                    tolerance_percent: float = 25.0, noise_floor: float = 5.0, min_samples: int = 3,
                    match: Sequence[str] = ("plan",)) -> Finding:
    """p95 is not worse than the median of the last green runs of the same plan (noise floor and tolerance).

    Only green runs whose ``match`` figures equal this run's count (by default the plan signature: the same
    scenario figures, workers, user code and chaos seed), so a run is never held to a different plan's latency.
    With fewer than ``min_samples`` such runs the gate is not applied (recorded as info, not judged).
    """
    like = [r for r in history.green() if all(r.get(k) == figures.get(k) for k in match if k in figures)]
    green = [float(r[key]) for r in like[-10:] if r.get(key) is not None]
    value = figures.get(key)
    figure = f"{key} regression"
    if len(green) < min_samples or value is None:
        same = " of the same plan" if any(k in figures for k in match) else ""
        problem = f" (history {history.problem}; it is kept aside and started afresh)" if history.problem else ""
        return result("load-regression", figure, value, None, "ms", "<=",
                      f"{key}: {len(green)} green run(s){same} in {history.path}{problem}, {min_samples} needed "
                      "to compare; gate not applied", status="info", green_runs=len(green))
    reference = statistics.median(green)
    limit = max(reference * (1 + tolerance_percent / 100), reference + noise_floor)
    passed = float(value) <= limit
    message = (f"{key} {float(value):,.1f} ms {'<=' if passed else '>'} last green median {reference:,.1f} ms "
               f"(+{tolerance_percent:g}% or +{noise_floor:g} ms noise floor: {limit:,.1f} ms; "
               f"{len(green)} green runs in {history.path})")
    return result("load-regression", figure, float(value), limit, "ms", "<=", message, reference=reference,
                  green_runs=len(green))


def recovery_seconds(run: RunResult, reference_end: float, disturbance_end: float, tolerance_percent: float,
                     floor_ms: float = 5.0, settle: int = 2) -> tuple[float | None, dict[str, Any]]:
    """Seconds after ``disturbance_end`` until p95 and error rate are back near the level before ``reference_end``.

    The level before is the p95 and error rate of the samples from 1 s to ``reference_end`` (the first second
    warms up). Back means ``settle`` consecutive seconds within (1 + tolerance) x p95 (at least + ``floor_ms``)
    and an error rate at most the level before + 1 point. None when it never came back.
    """
    reference, _, _ = run.window(1.0, reference_end)
    if not reference.requests:
        reference, _, _ = run.window(0.0, reference_end)
    ref_p95 = reference.p(95) or 0.0
    limit = max(ref_p95 * (1 + tolerance_percent / 100), ref_p95 + floor_ms)
    err_limit = reference.error_rate_percent + 1.0
    details = {"reference_p95_ms": round(ref_p95, 3), "p95_limit_ms": round(limit, 3),
               "reference_error_rate_percent": round(reference.error_rate_percent, 3),
               "reference_requests": reference.requests}
    streak = 0
    for sample in run.samples:
        if sample.t < disturbance_end:
            continue
        ok = sample.total.requests > 0 and (sample.total.p(95) or 0) <= limit and \
            sample.total.error_rate_percent <= err_limit
        streak = streak + 1 if ok else 0
        if streak >= settle:
            return round(max(0.0, sample.t - settle + 1 - disturbance_end), 3), details
    return None, details


@check("load-recovery", area="load", target="scenario", severity="critical",
       fix="the target stayed degraded after the spike or fault: look for queues that do not drain, retries, leaks")
def recovery_gate(seconds: float | None, details: dict[str, Any], limit: float, what: str) -> Finding:
    """p95 and error rate return to the level before a spike or fault within the baseline's recovery_seconds."""
    if not details.get("reference_requests", 1):
        return result("load-recovery", "recovery_seconds", None, limit, "s", "<=",
                      f"no requests before {what} to compare with; inconclusive", **details)
    if seconds is None:
        return result("load-recovery", "recovery_seconds", None, limit, "s", "<=",
                      f"no recovery after {what}: p95 never returned below {details['p95_limit_ms']:,.1f} ms "
                      f"(level before: {details['reference_p95_ms']:,.1f} ms) before the run ended", status="fail",
                      **details)
    passed = seconds <= limit
    return result("load-recovery", "recovery_seconds", seconds, limit, "s", "<=",
                  f"recovery after {what} {seconds:g} s {'<=' if passed else '>'} limit {limit:g} s "
                  f"(p95 back under {details['p95_limit_ms']:,.1f} ms)", **details)


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


@check("load-knee", area="load", target="scenario", severity="critical",
       fix="the target stops scaling early: see the steps table (p95, RPS per step) for where it bends")
def knee_gate(knee_users: int | None, limit: int, planned_max: int, table: list[dict[str, Any]]) -> Finding:
    """The scalability knee (last step holding the SLO while RPS grows) is at or above knee_users."""
    effective = min(limit, planned_max)
    note = (f" (baseline {limit} users, scaled to this profile's highest step of {planned_max})"
            if effective < limit else "")
    if not table:
        return result("load-knee", "knee_users", None, effective, "users", ">=",
                      "no step ran long enough to measure; inconclusive", steps=table)
    shown = "none" if knee_users is None else f"{knee_users} users"
    passed = knee_users is not None and knee_users >= effective
    return result("load-knee", "knee_users", knee_users, effective, "users", ">=",
                  f"knee at {shown} {'>=' if passed else '<'} {effective} users{note}",
                  status="pass" if passed else "fail", steps=table)


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


@check("load-memory-growth", area="load", target="scenario", severity="critical",
       fix="resident memory grows under steady load: look for caches without bounds, leaked connections")
def memory_gate(points: Sequence[tuple[float, float]], limit: float, source: str) -> Finding:
    """Resident memory of the target grows by at most memory_growth_mb_per_minute under sustained load."""
    slope = memory_slope(points)
    where = f" (least-squares fit of {len(points)} resident-memory samples from {source})"
    return _compare("load-memory-growth", "memory_growth_mb_per_minute", slope, limit, "MB/min", "<=",
                    "memory growth", where, no_data="fewer than 3 samples")


@check("load-steady-state", area="load", target="scenario", severity="critical",
       fix="the service was not healthy before (or did not return to health after) the chaos run")
def steady_state_gate(when: str, share: float, p95: float | None, limit: float, paths: Sequence[str],
                      problems: Sequence[str]) -> Finding:
    """Chaos steady-state hypothesis: every probe answers 2xx within the p95 limit, before and after the run."""
    shown = "no answer" if p95 is None else f"p95 {p95:,.1f} ms"
    message = (f"steady state {when}: {share:.0f}% of 20 probes of {', '.join(paths)} answered 2xx, "
               f"{shown} (hypothesis: 100% and p95 <= {limit:,.1f} ms)")
    if problems:
        message += f"; first problem: {problems[0]}"
    passed = share == 100.0 and p95 is not None and p95 <= limit
    return result("load-steady-state", f"steady state {when}", share, 100.0, "%", ">=", message,
                  status="pass" if passed else "fail", p95_ms=p95, p95_limit_ms=limit)
