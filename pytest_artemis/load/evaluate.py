"""Which gates hold for a run, with limits scaled to what the plan can reach.

:func:`evaluate` turns a run into its findings: the run's validity (lost workers, a saturated generator),
the baseline gates and the time-window SLO where the scenario uses them, the scenario's own gates (from
its entry in :data:`~pytest_artemis.load.scenarios.SCENARIOS`), and the regression gate against the last
green runs. The throughput baseline is held to what the plan's own load can reach (80 % of the planned
requests/s), and the message says so when it was scaled. An invalid run is never stored as green.

In arrival mode the latency gates judge the corrected percentiles (from each request's intended start), the
uncorrected ones are recorded beside them, and a dropped iteration makes the run invalid like a lost worker.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_artemis.baselines import Baseline
from pytest_artemis.findings import Finding
from pytest_artemis.load import gates
from pytest_artemis.load.history import History
from pytest_artemis.load.monitor import WindowMonitor
from pytest_artemis.load.results import RunResult
from pytest_artemis.load.scenarios import Plan

__all__ = ["REACHABLE_SHARE", "Evaluation", "evaluate", "plan_signature", "planned_average_rps", "window_monitors"]

#: Share of the planned requests/s a healthy run reaches (ramp-up and the last partial second cost the rest).
REACHABLE_SHARE = 0.8
_VALIDITY = ("load-generator-saturated", "load-run-invalid", "load-dropped-iterations")


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    @property
    def inconclusive(self) -> list[Finding]:
        """Gates that could not judge, and why the run itself cannot be trusted."""
        return [f for f in self.findings if f.status == "inconclusive"]

    @property
    def invalid(self) -> str:
        """'' for a run whose figures can be trusted, else why not (saturated generator, lost worker)."""
        return "; ".join(f.message for f in self.findings if f.check in _VALIDITY and f.status == "inconclusive")

    @property
    def passed(self) -> bool:
        return not self.failures and not self.inconclusive


def planned_average_rps(plan: Plan) -> float:
    """Requests/s the default mix sends on average over the shape."""
    total = sum((end - start) * stage.users * plan.rate_per_user for start, end, stage in plan.shape.windows())
    return total / plan.duration if plan.duration else 0.0


def plan_signature(plan: Plan, user_code: str = "") -> str:
    """A short stable id of what a run sends (shape, rates, budget, workers, chaos seed and faults, user code).

    The regression gate compares a run only with green runs of the same signature.
    """
    data = {**plan.as_dict(), "user_code": user_code}
    data.pop("params", None)  # the shape, rate and budget already say what the parameters changed
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def window_monitors(plan: Plan, baseline: Baseline) -> list[WindowMonitor]:
    """The live p95 window SLO (aborts the run on a sustained breach when ``abort_after_seconds`` is set)."""
    window = baseline.get("window_seconds")
    window = min(10.0 if window is None else float(window), max(1.0, plan.duration / 2))
    abort = baseline.get("abort_after_seconds")
    return [WindowMonitor("p95_ms", baseline.limit_with_tolerance("p95_ms"), window,
                          float(abort) if abort is not None else None)]


def _throughput_limit(plan: Plan, baseline: Baseline, own_users: bool) -> tuple[float, str]:
    if own_users or plan.rate_per_user <= 0:
        return baseline.throughput_rps, ""
    reachable = REACHABLE_SHARE * (plan.planned_rps() if plan.spec.throughput_at_peak else planned_average_rps(plan))
    if reachable >= baseline.throughput_rps:
        return baseline.throughput_rps, ""
    return reachable, (f"; baseline {baseline.throughput_rps:g} req/s scaled to {REACHABLE_SHARE:.0%} of the "
                       f"{reachable / REACHABLE_SHARE:,.1f} req/s this {plan.profile} plan sends")


def _regression_settings(baseline: Baseline) -> dict[str, Any]:
    def figure(key: str, default: float) -> float:
        value = baseline.get(key)
        return default if value is None else float(value)

    return {"tolerance_percent": figure("regression_tolerance_percent", 25),
            "noise_floor": figure("regression_noise_floor_ms", 5),
            "min_samples": int(figure("regression_min_samples", 3))}


def evaluate(run: RunResult, plan: Plan, baseline: Baseline, *, history: History | None = None,
             own_users: bool = False, monitors: list[WindowMonitor] | None = None,
             user_code: str = "") -> Evaluation:
    """All gates of ``plan``'s scenario on ``run``; appends the figures to ``history`` unless the run is invalid.

    ``user_code`` names the user classes (a locustfile path; '' for the default mix) for the plan signature.
    """
    spec = plan.spec
    ev = Evaluation()
    ev.findings += [gates.run_validity_gate(run), gates.generator_gate(run)]
    if plan.arrival:
        ev.findings.append(gates.dropped_iterations_gate(run))
    if spec.baseline_gates:
        limit, note = _throughput_limit(plan, baseline, own_users)
        ev.findings += gates.baseline_gates(run, baseline, throughput_limit=limit, throughput_note=note)
        for monitor in monitors if monitors is not None else window_monitors(plan, baseline):
            ev.findings.append(gates.window_gate(run, monitor))
    if plan.arrival:  # beside the corrected p95/p99 the gates judged (after them; at the end without them)
        at = next((i + 1 for i, f in enumerate(ev.findings) if f.check == "load-p99"), len(ev.findings))
        ev.findings[at:at] = gates.uncorrected_latency(run, baseline)
    if spec.gates is not None:
        ev.findings += spec.gates(run, plan, baseline)
    total = run.total
    ev.figures = {"p95_ms": total.p(95), "p99_ms": total.p(99), "error_rate_percent": total.error_rate_percent,
                  "rps": run.rps, "profile": plan.profile, "requests": total.requests,
                  "plan": plan_signature(plan, user_code), "seed": plan.seed}
    if plan.arrival:  # p95_ms / p99_ms above are corrected
        ev.figures.update(mode="arrival", p95_ms_uncorrected=total.p_uncorrected(95),
                          p99_ms_uncorrected=total.p_uncorrected(99), dropped_iterations=run.dropped_iterations)
    if history is not None and not ev.invalid and total.requests:
        ev.findings.append(gates.regression_gate(history, ev.figures, **_regression_settings(baseline)))
        history.append(ev.figures, green=ev.passed)
    ev.findings = [_in(f, plan.scenario) for f in ev.findings]
    return ev


def _in(finding: Finding, scenario: str) -> Finding:
    return finding if finding.scenario else replace(finding, scenario=scenario)
