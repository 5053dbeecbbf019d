"""Which gates hold for which scenario, with limits scaled to what the plan can reach.

:func:`evaluate` turns a run into its list of :class:`~pytest_artemis.load.gates.GateResult` plus the
generator-health verdict: the baseline gates for every scenario, the time-window SLO, the regression
gate against the last green runs, and the scenario's own gate (spike and chaos recovery, endurance
memory growth, scalability knee). The throughput baseline is held to what the plan's own load can
reach (80 % of the planned requests/s), and the message says so when it was scaled.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pytest_artemis.baselines import Baseline
from pytest_artemis.load import gates
from pytest_artemis.load.gates import GateResult, History, WindowMonitor
from pytest_artemis.load.results import RunResult
from pytest_artemis.load.scenarios import Plan

__all__ = ["REACHABLE_SHARE", "Evaluation", "evaluate", "plan_signature", "planned_average_rps", "window_monitors"]

#: Share of the planned requests/s a healthy run reaches (ramp-up and the last partial second cost the rest).
REACHABLE_SHARE = 0.8


@dataclass
class Evaluation:
    gates: list[GateResult] = field(default_factory=list)
    saturated: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    @property
    def passed(self) -> bool:
        return not self.failures and not self.saturated


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
    window = float(baseline.get("window_seconds") or 10.0)
    window = min(window, max(1.0, plan.duration / 2))
    abort = baseline.get("abort_after_seconds")
    return [WindowMonitor("p95_ms", baseline.limit_with_tolerance("p95_ms"), window,
                          float(abort) if abort is not None else None)]


def _throughput_limit(plan: Plan, baseline: Baseline, own_users: bool) -> tuple[float, str]:
    if own_users or plan.rate_per_user <= 0:
        return baseline.throughput_rps, ""
    reachable = REACHABLE_SHARE * (planned_average_rps(plan) if plan.scenario != "load" else plan.planned_rps())
    if reachable >= baseline.throughput_rps:
        return baseline.throughput_rps, ""
    return reachable, (f"; baseline {baseline.throughput_rps:g} req/s scaled to {REACHABLE_SHARE:.0%} of the "
                       f"{reachable / REACHABLE_SHARE:,.1f} req/s this {plan.profile} plan sends")


def _steps(result: RunResult, plan: Plan) -> list[tuple[int, float, float | None, float]]:
    out = []
    for start, end, stage in plan.shape.windows():
        total, _, seconds = result.window(start + 1, end)  # the first second of a step ramps up
        if seconds:
            out.append((stage.users, total.requests / seconds, total.p(95), total.error_rate_percent))
    return out


def evaluate(result: RunResult, plan: Plan, baseline: Baseline, *, history: History | None = None,
             own_users: bool = False, monitors: list[WindowMonitor] | None = None,
             user_code: str = "") -> Evaluation:
    """All gates of ``plan.scenario`` on ``result``; appends the figures to ``history`` (green or not).

    ``user_code`` names the user classes (a locustfile path; '' for the default mix) for the plan signature.
    """
    ev = Evaluation()
    if plan.scenario == "chaos":
        # faults are injected on purpose: chaos gates on availability, recovery and the steady state
        ev.gates += [g for g in gates.baseline_gates(result, baseline) if g.name == "availability_percent"]
    else:
        limit, note = _throughput_limit(plan, baseline, own_users)
        ev.gates += gates.baseline_gates(result, baseline, throughput_limit=limit, throughput_note=note)
        for monitor in monitors if monitors is not None else window_monitors(plan, baseline):
            ev.gates.append(gates.window_gate(result, monitor))
    if plan.scenario == "spike":
        normal_end, spike_end = plan.shape.stages[0].until, plan.shape.stages[1].until
        seconds, details = gates.recovery_seconds(result, normal_end, spike_end,
                                                  float(baseline.get("recovery_tolerance_percent") or 50))
        ev.gates.append(gates.recovery_gate(seconds, details, float(baseline.get("recovery_seconds") or 30),
                                            f"the 5x spike ({plan.shape.stages[1].users} users)"))
    elif plan.scenario == "chaos" and plan.faults:
        first, last = min(f.at for f in plan.faults), max(f.until for f in plan.faults)
        seconds, details = gates.recovery_seconds(result, first, last,
                                                  float(baseline.get("recovery_tolerance_percent") or 50))
        ev.gates.append(gates.recovery_gate(seconds, details, float(baseline.get("recovery_seconds") or 15),
                                            f"the last fault (seed {plan.seed})"))
    elif plan.scenario == "endurance":
        ev.gates.append(gates.memory_gate(result.memory, float(baseline.get("memory_growth_mb_per_minute") or 5),
                                          result.memory_source or f"{result.target}/metrics"))
    elif plan.scenario == "scalability":
        knee_users, table = gates.knee(_steps(result, plan), baseline.limit_with_tolerance("p95_ms"),
                                       baseline.error_rate_percent)
        ev.gates.append(gates.knee_gate(knee_users, int(baseline.get("knee_users") or 1), plan.max_users, table))
    ev.saturated = gates.generator_health(result)
    total = result.total
    ev.figures = {"p95_ms": total.p(95), "p99_ms": total.p(99), "error_rate_percent": total.error_rate_percent,
                  "rps": result.rps, "profile": plan.profile, "requests": total.requests,
                  "plan": plan_signature(plan, user_code), "seed": plan.seed}
    if history is not None and not ev.saturated and total.requests:
        ev.gates.append(gates.regression_gate(
            history, ev.figures,
            tolerance_percent=float(baseline.get("regression_tolerance_percent") or 25),
            noise_floor=float(baseline.get("regression_noise_floor_ms") or 5),
            min_samples=int(baseline.get("regression_min_samples") or 3)))
        history.append(ev.figures, green=not ev.failures)
    return ev
