"""Whether a load run's figures can be trusted: registered checks whose inconclusive finding makes the run invalid.

A saturated generator (CPU, event-loop lag), a lost Locust worker and, in arrival mode, a dropped iteration (a
scheduled start that found the in-flight bound exhausted, k6's term) each mean the planned load was not sent as
planned; :mod:`pytest_artemis.load.evaluate` then marks the run invalid: the test errors, nothing is stored as green.
"""

from __future__ import annotations

from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding
from pytest_artemis.load.judging import result
from pytest_artemis.load.results import RunResult

__all__ = ["CPU_SATURATION_PERCENT", "LAG_SATURATION_MS", "dropped_iterations_gate", "generator_gate",
           "generator_health", "run_validity_gate"]

CPU_SATURATION_PERCENT = 90.0
LAG_SATURATION_MS = 10.0


def generator_health(run: RunResult, threshold: float = CPU_SATURATION_PERCENT, sustained: int = 2,
                     lag_ms: float = LAG_SATURATION_MS) -> str:
    """'' when the load generator kept up, else why its figures cannot be trusted.

    Saturated: Locust warned about its CPU, or a Locust process ran above ``threshold`` % CPU, or its event loop
    woke sleepers more than ``lag_ms`` late on average, for ``sustained`` seconds in a row. A late loop means
    requests wait inside the generator (busy or starved of CPU), and their times include that wait.
    """
    if run.cpu_warnings:
        return f"Locust reported CPU above {threshold:g}% in {', '.join(sorted(set(run.cpu_warnings)))}"
    streak: dict[str, int] = {}
    for sample in run.samples:
        for role in set(sample.cpu_percent) | set(sample.lag_ms):
            cpu, lag = sample.cpu_percent.get(role, 0.0), sample.lag_ms.get(role, 0.0)
            streak[role] = streak.get(role, 0) + 1 if cpu > threshold or lag > lag_ms else 0
            if streak[role] >= sustained:
                return (f"Locust {role} ran above {threshold:g}% CPU or with its event loop over {lag_ms:g} ms late "
                        f"for {sustained} s in a row (at {sample.t:g} s: {cpu:.0f}% CPU, loop {lag:.1f} ms late)")
    return ""


@check("load-generator-saturated", area="load", target="scenario", severity="critical",
       fix="use --artemis-workers N or fewer users: the figures describe Locust, not the target")
def generator_gate(run: RunResult) -> Finding:
    """The load generator kept up (CPU and event-loop lag); a saturated one makes the run invalid."""
    why = generator_health(run)
    return result("load-generator-saturated", "generator", None, None, "", "",
                  f"load generator saturated: {why}" if why else "the load generator kept up",
                  status="inconclusive" if why else "info")


@check("load-run-invalid", area="load", target="scenario", severity="critical",
       fix="rerun; a worker that was lost or never connected means the planned load was not sent")
def run_validity_gate(run: RunResult) -> Finding:
    """The run sent the load it planned: no Locust worker lost, missing or never connected."""
    why = str(getattr(run, "invalid", "") or "")
    return result("load-run-invalid", "run validity", None, None, "", "",
                  f"run invalid: {why}" if why else "every planned worker reported to the end",
                  status="inconclusive" if why else "info")


@check("load-dropped-iterations", area="load", target="scenario", severity="critical",
       fix="allow more requests in flight (--artemis-load-param in_flight=N) or lower the rate; a target slower "
           "than the planned rate needs a lower rate")
def dropped_iterations_gate(run: RunResult) -> Finding:
    """Arrival mode: every scheduled start was sent; a dropped iteration (in-flight bound exhausted) makes the run invalid."""
    dropped = run.dropped_iterations
    bound = getattr(run.plan, "in_flight_bound", None)
    if not dropped:
        return result("load-dropped-iterations", "dropped iterations", 0, 0, "", "<=",
                      "no dropped iterations: every scheduled start was sent", status="info")
    planned = getattr(run.plan, "planned_requests", None)
    of = f" of {planned:,} planned" if planned else ""
    return result("load-dropped-iterations", "dropped iterations", dropped, 0, "", "<=",
                  f"run invalid: {dropped:,} dropped iterations{of} (first at t={run.first_dropped_at:g} s): "
                  f"{bound if bound is not None else 'the'} requests in flight were not enough, so the planned "
                  "arrival rate was not sent", status="inconclusive", dropped=dropped, in_flight=bound)
