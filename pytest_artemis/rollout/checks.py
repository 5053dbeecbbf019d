"""The rollout gate's registered checks: each turns one rollout outcome into findings (never asserts, no pytest)."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_artemis.checks.registry import check
from pytest_artemis.errors import RolloutFailedError
from pytest_artemis.findings import Finding, Status
from pytest_artemis.rollout.analysis import AnalysisResult
from pytest_artemis.rollout.deployment import RolloutStatus
from pytest_artemis.rollout.downtime import MIN_REQUESTS, Downtime

__all__ = ["FAIL_FAST_REASONS", "analysis_findings", "fail_fast", "progress", "rollback", "zero_downtime"]

#: Reasons of :class:`RolloutFailedError` that come from a failing new pod (the rest are progress failures).
FAIL_FAST_REASONS = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "OOMKilled",
                               "CreateContainerConfigError", "CreateContainerError", "InvalidImageName",
                               "RestartLimitExceeded"})


@check("rollout-progress", area="rollout", target="Deployment", severity="critical", online=True,
       fix="find why new pods do not become available (events, logs); raise progressDeadlineSeconds only if "
           "the rollout is merely slow")
def progress(outcome: RolloutStatus | RolloutFailedError, namespace: str, timeout: float) -> Iterator[Finding]:
    """The rollout completed (every replica updated and available) within its deadline and the gate's timeout."""
    if isinstance(outcome, RolloutFailedError):
        if outcome.reason in FAIL_FAST_REASONS:
            return
        yield Finding(check="rollout-progress", severity="critical", message=str(outcome), kind="Deployment",
                      name=outcome.deployment, namespace=namespace, figure="rollout complete", value=outcome.reason,
                      limit=f"within {timeout:g}s", status="fail",
                      fix="find why new pods do not become available (events and pod logs attached)")
        return
    yield Finding(check="rollout-progress", severity="critical", message=f"{outcome.message} in {outcome.elapsed:.1f}s "
                  f"(revision {outcome.revision}, {outcome.available}/{outcome.replicas} available)",
                  kind="Deployment", name=outcome.deployment, namespace=namespace, figure="rollout duration",
                  value=round(outcome.elapsed, 2), limit=timeout, unit="s", comparison="<=", status="pass",
                  details={"revision": outcome.revision})


@check("rollout-fail-fast", area="rollout", target="Deployment", severity="critical", online=True,
       fix="fix what the pod's state names (image, config, memory limit, crash) and roll out again")
def fail_fast(outcome: RolloutStatus | RolloutFailedError, namespace: str) -> Iterator[Finding]:
    """No new pod of the rollout crash-looped, failed its image pull, was OOMKilled, lacked its config or restarted."""
    if isinstance(outcome, RolloutFailedError) and outcome.reason in FAIL_FAST_REASONS:
        yield Finding(check="rollout-fail-fast", severity="critical", message=str(outcome), kind="Deployment",
                      name=outcome.deployment, namespace=namespace, container=outcome.container,
                      figure="new pod state", value=outcome.reason, limit="healthy", status="fail",
                      fix="fix what the pod's state names and roll out again", details={"pod": outcome.pod})


@check("rollout-analysis", area="rollout", target="Deployment", severity="critical", online=True,
       fix="look at the new revision's error rate and latency; an inconclusive analysis needs metrics "
           "(scraping, traffic)")
def analysis_findings(result: AnalysisResult) -> Iterator[Finding]:
    """The new revision's metrics (error rate, p95 by default) held their limits in every analysis measurement."""
    yield from result.findings


@check("rollout-rollback", area="rollout", target="Deployment", severity="critical", online=True,
       fix="the previous revision does not serve either: the cluster needs a person now")
def rollback(deployment: str, namespace: str, revision: int, images: tuple[str, ...], serving: bool,
             problem: str = "") -> Iterator[Finding]:
    """After a failed rollout the gate undid it, and the previous revision serves again."""
    text = (f"rolled back to revision {revision} ({', '.join(images)}): "
            + ("it serves again" if serving else f"it does not serve: {problem}"))
    yield Finding(check="rollout-rollback", severity="critical", message=text, kind="Deployment", name=deployment,
                  namespace=namespace, figure="previous revision serves", value="yes" if serving else "no",
                  limit="yes", status="pass" if serving else "fail", details={"revision": revision})


@check("rollout-zero-downtime", area="rollout", target="Deployment", severity="critical", online=True,
       fix="keep maxUnavailable 0 with maxSurge >= 1, a readiness probe that fails while draining, a preStop "
           "sleep longer than endpoint propagation and graceful SIGTERM handling")
def zero_downtime(result: Downtime, *, deployment: str, namespace: str, max_failed: int, availability: float,
                  min_requests: int = MIN_REQUESTS) -> Iterator[Finding]:
    """Steady traffic through the rollout lost at most the allowed requests and kept the baseline availability."""
    details = {"sent": result.sent, "failed": result.failed, "reasons": result.reasons,
               "longest_outage_s": result.longest_outage, "seconds": result.seconds}

    def finding(message: str, figure: str, value: float | None, limit: float, comparison: str, status: Status,
                unit: str = "", fix: str = "") -> Finding:
        return Finding(check="rollout-zero-downtime", severity="critical", message=message, kind="Deployment",
                       name=deployment, namespace=namespace, endpoint=result.url, figure=figure, value=value,
                       limit=limit, unit=unit, comparison=comparison, status=status, details=details,
                       fix=fix)
    if result.sent < min_requests and result.failed <= max_failed:  # too few to vouch; enough to fail
        yield finding(f"only {result.sent} requests were sent during the rollout of deployment/{deployment} "
                      f"(at least {min_requests} are needed to judge downtime)", "requests during rollout",
                      result.sent, min_requests, ">=", "inconclusive",
                      fix="keep the traffic running for the whole rollout (a shorter interval sends more)")
        return
    yield finding(f"rollout of deployment/{deployment}: {result.shown()}", "failed requests during rollout",
                  result.failed, max_failed, "<=", "pass" if result.failed <= max_failed else "fail")
    avail = result.availability
    yield finding(f"availability during the rollout of deployment/{deployment}: {avail}% (baseline >= "
                  f"{availability:g}%)", "availability during rollout", avail, availability, ">=",
                  "pass" if avail is not None and avail >= availability else "fail", unit="%")
