"""The automatic rollback gate (no pytest): roll out, judge, and undo what failed.

:func:`rollout_gate` changes a Deployment (``image``/``env``), waits for the rollout (fail fast included) and,
when a Prometheus is given, runs the analysis. When the rollout fails (deadline, fail-fast reason, timeout) or
the analysis is ``Failed``, it undoes the change, waits for the previous revision and checks that it serves
again (its pods ready on the previous images, and ``serves()`` when given). The :class:`GateResult` holds every
finding: progress, fail fast, analysis measurements and the rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pytest_artemis.errors import ClusterError, RolloutFailedError
from pytest_artemis.findings import Finding
from pytest_artemis.rollout import checks
from pytest_artemis.rollout.analysis import AnalysisResult, Metric, Querier, analyze
from pytest_artemis.rollout.deployment import Rollouts, RolloutStatus, object_meta

__all__ = ["GateResult", "rollout_gate"]


@dataclass
class GateResult:
    """What the gate did: ``promoted`` (the change stays) or ``rolled back`` (and whether that serves)."""

    outcome: str
    message: str
    status: RolloutStatus | RolloutFailedError
    analysis: AnalysisResult | None = None
    rolled_back_to: int = 0
    rollback_serves: bool | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == "promoted" and all(not f.problem for f in self.findings)


def _serves(rollouts: Rollouts, name: str, images: tuple[str, ...], serves: Callable[[], bool] | None) -> str:
    """Empty when the Deployment's current pods run ``images`` and are ready (and ``serves()``), else why not."""
    pods = rollouts.new_pods(name)
    # a container without an image counts as "" (as in Revision.images); a pod without status is not ready
    running = {c.image or "" for p in pods for c in (p.spec.containers if p.spec else [])}
    if running != set(images):
        return f"its pods run {', '.join(sorted(running)) or 'nothing'}, not {', '.join(images)}"
    unready = [str(object_meta(p).name) for p in pods
               if not any(c.type == "Ready" and c.status == "True"
                          for c in ((p.status.conditions if p.status else None) or []))]
    if unready:
        return "pods not ready: " + ", ".join(unready)
    if serves is not None and not serves():
        return "the service check failed"
    return ""


def rollout_gate(rollouts: Rollouts, name: str, *, image: str | None = None,
                 env: Mapping[str, str | None] | None = None, container: str | None = None, timeout: float = 300.0,
                 prom: Querier | None = None, metrics: Iterable[Metric] = (), analysis_count: int = 5,
                 analysis_interval: float = 5.0, serves: Callable[[], bool] | None = None) -> GateResult:
    """Roll ``name`` out with the change, judge it, and roll it back when it failed."""
    namespace = rollouts.namespace
    rollouts.update(name, image=image, env=env, container=container)
    outcome: RolloutStatus | RolloutFailedError
    try:
        outcome = rollouts.wait(name, timeout)
    except RolloutFailedError as err:
        outcome = err
    findings = [*checks.progress(outcome, namespace, timeout), *checks.fail_fast(outcome, namespace)]
    analysis = None
    metrics = list(metrics)
    if isinstance(outcome, RolloutStatus) and prom is not None and metrics:
        analysis = analyze(prom, metrics, count=analysis_count, interval=analysis_interval, deployment=name,
                           namespace=namespace)
        findings += checks.analysis_findings(analysis)
    failed = isinstance(outcome, RolloutFailedError) or (analysis is not None and analysis.phase == "Failed")
    if not failed:
        message = f"deployment/{name} promoted" + (f"; {analysis.message}" if analysis else "")
        return GateResult("promoted", message, outcome, analysis, findings=findings)
    target = rollouts.undo(name)
    problem = ""
    try:
        rollouts.wait(name, timeout)
        problem = _serves(rollouts, name, target.images, serves)
    except ClusterError as err:
        problem = str(err)
    findings += checks.rollback(name, namespace, target.revision, target.images, not problem, problem)
    why = str(outcome) if isinstance(outcome, RolloutFailedError) else analysis.message if analysis else ""
    message = (f"deployment/{name} rolled back to revision {target.revision} "
               f"({'serving' if not problem else 'NOT serving: ' + problem}) after: {why}")
    return GateResult("rolled back", message, outcome, analysis, target.revision, not problem, findings)
