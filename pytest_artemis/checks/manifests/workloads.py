"""Workload-level checks: replicas, rollout strategy, spreading, selectors and the HPA/replicas relation."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import ManifestObject, label_selector_matches, mapping, scaled_value
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["MIN_REPLICAS"]

#: Fewer replicas than this is one restart away from an outage.
MIN_REPLICAS = 2


@check("replicas-too-few", area="manifests", target="Deployment, StatefulSet, ReplicaSet", severity="warning",
       fix="run at least 2 replicas (3 to survive a rollout and a node loss at once), or an HPA minReplicas >= 2")
def replicas_too_few(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Workload runs fewer than 2 replicas (HPA minReplicas counts): any restart is an outage."""
    replicas = ctx.effective_replicas(obj)
    if replicas is not None and replicas < MIN_REPLICAS:
        source = "HPA minReplicas" if ctx.hpas_targeting(obj) else "replicas"
        yield obj.finding("replicas-too-few", f"{source} {replicas} < {MIN_REPLICAS}: any restart or node drain "
                                              "is an outage")


@check("rollout-strategy", area="manifests", target="Deployment", severity="warning",
       fix="use RollingUpdate with maxUnavailable: 0 and maxSurge: 1 (or keep >= 2 pods serving)")
def rollout_strategy(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Rollout causes downtime: Recreate, or RollingUpdate whose maxUnavailable leaves < 2 pods serving."""
    strategy = mapping(obj.spec.get("strategy"))
    if strategy.get("type") == "Recreate":
        yield obj.finding("rollout-strategy", "strategy Recreate stops every pod before starting new ones: "
                                              "downtime on every rollout")
        return
    replicas = ctx.effective_replicas(obj) or 1
    rolling = mapping(strategy.get("rollingUpdate"))
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    if unavailable is None:
        return
    if unavailable >= replicas:
        yield obj.finding("rollout-strategy", f"maxUnavailable {rolling.get('maxUnavailable')} lets all {replicas} "
                                              "pods go down at once during a rollout", severity="critical")
    elif unavailable > 0 and replicas - unavailable < MIN_REPLICAS:
        yield obj.finding("rollout-strategy", f"maxUnavailable {rolling.get('maxUnavailable')} with {replicas} "
                                              f"replicas leaves {replicas - unavailable} pod serving during a rollout")
    elif unavailable == 0 and surge == 0:
        yield obj.finding("rollout-strategy", "maxUnavailable and maxSurge both 0: the rollout cannot progress",
                          severity="critical")


@check("anti-affinity-missing", area="manifests", target="Deployment, StatefulSet, ReplicaSet", severity="warning",
       fix="add topologySpreadConstraints (zone/hostname) or a preferred podAntiAffinity on kubernetes.io/hostname")
def anti_affinity_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Multi-replica workload with neither pod anti-affinity nor topology spread: one node can hold all pods."""
    replicas = ctx.effective_replicas(obj)
    if replicas is None or replicas < 2:
        return
    spec = obj.pod_spec()
    affinity = mapping(spec.get("affinity"))
    if affinity.get("podAntiAffinity") or spec.get("topologySpreadConstraints"):
        return
    yield obj.finding("anti-affinity-missing", f"{replicas} replicas with no podAntiAffinity and no "
                                               "topologySpreadConstraints: one node failure can take them all")


@check("selector-labels-mismatch", area="manifests", target="Deployment, StatefulSet, DaemonSet, ReplicaSet, Job",
       severity="critical", fix="make spec.selector match spec.template.metadata.labels")
def selector_labels_mismatch(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """spec.selector does not match the pod template's labels: the API server rejects it (or orphans pods)."""
    selector = obj.spec.get("selector")
    if not isinstance(selector, dict) or (obj.kind == "Job" and not obj.spec.get("manualSelector")):
        return
    labels = obj.pod_labels()
    if not label_selector_matches(selector, labels, empty_matches_all=False):
        shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"
        wanted = ", ".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))
        yield obj.finding("selector-labels-mismatch", f"selector ({wanted or 'matchExpressions'}) does not match "
                                                      f"template labels ({shown})")


@check("hpa-replicas-conflict", area="manifests", target="Deployment, StatefulSet, ReplicaSet", severity="warning",
       fix="omit spec.replicas when an HPA scales the workload (or keep it within the HPA's range)")
def hpa_replicas_conflict(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Workload fixes spec.replicas while an HPA scales it (outside its range: warning; inside: info)."""
    hpas = ctx.hpas_targeting(obj)
    if len(hpas) > 1:
        names = ", ".join(h.name for h in hpas)
        yield obj.finding("hpa-replicas-conflict", f"{len(hpas)} HPAs scale this workload ({names}): they fight")
    if not hpas or "replicas" not in obj.spec:
        return
    replicas, hpa = obj.spec.get("replicas"), hpas[0]
    low, high = hpa.spec.get("minReplicas", 1), hpa.spec.get("maxReplicas")
    if isinstance(replicas, int) and isinstance(low, int) and isinstance(high, int) and not low <= replicas <= high:
        yield obj.finding("hpa-replicas-conflict", f"replicas {replicas} is outside {hpa.ref}'s range {low}-{high}: "
                                                   "every apply fights the autoscaler")
    else:
        yield obj.finding("hpa-replicas-conflict", f"replicas {replicas} is fixed while {hpa.ref} scales it: each "
                                                   f"apply resets the scale to {replicas}", severity="info")
