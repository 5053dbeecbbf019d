"""Workload-level checks: replicas, rollout strategy, spreading, selectors and the HPA/replicas relation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import (
    ManifestObject,
    label_selector_matches,
    mapping,
    scaled_value,
    selector_mismatch,
)
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["MIN_REPLICAS"]

#: Fewer replicas than this is one restart away from an outage.
MIN_REPLICAS = 2


@check("replicas-too-few", area="manifests", target="Deployment, StatefulSet, ReplicaSet", severity="warning",
       fix="run at least 2 replicas (3 to survive a rollout and a node loss at once), or an HPA minReplicas >= 2",
       why="With one pod every restart, eviction, node drain or failed rollout is an outage; a second replica "
           "(or an HPA minReplicas of 2) keeps serving while one is replaced.")
def replicas_too_few(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Workload runs fewer than 2 replicas (HPA minReplicas counts): any restart is an outage."""
    replicas = ctx.effective_replicas(obj)
    if replicas is not None and replicas < MIN_REPLICAS:
        source = "HPA minReplicas" if ctx.hpas_targeting(obj) else "replicas"
        yield obj.finding("replicas-too-few", f"{source} {replicas} < {MIN_REPLICAS}: any restart or node drain "
                                              "is an outage")


@check("rollout-strategy", area="manifests", target="Deployment", severity="warning",
       fix="use RollingUpdate with maxUnavailable: 0 and maxSurge: 1 (or keep >= 2 pods serving)",
       why="Recreate stops every old pod before starting new ones, and a RollingUpdate whose maxUnavailable "
           "reaches the replica count does the same: downtime on every release (all pods down: critical; "
           "Recreate, which a stateful app may need, or fewer than 2 pods left serving: warning). Of these the "
           "API server rejects only maxUnavailable and maxSurge both 0.")
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
       fix="add topologySpreadConstraints (zone/hostname) or a preferred podAntiAffinity on kubernetes.io/hostname",
       why="The scheduler's default topology spreading is only a soft preference, so several replicas can land "
           "on one node and one node failure takes them all; topologySpreadConstraints or a podAntiAffinity on "
           "kubernetes.io/hostname makes the spread explicit.")
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


def anti_affinity_terms(obj: ManifestObject) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, PodAffinityTerm) of every podAntiAffinity term of the pod template, required ones first."""
    anti = mapping(mapping(obj.pod_spec().get("affinity")).get("podAntiAffinity"))
    for i, term in enumerate(anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ()):
        if isinstance(term, dict):
            yield f"required term {i}", term
    for i, weighted in enumerate(anti.get("preferredDuringSchedulingIgnoredDuringExecution") or ()):
        term = mapping(weighted).get("podAffinityTerm")
        if isinstance(term, dict):
            yield f"preferred term {i}", term


def _misses_own_pods(obj: ManifestObject, term: dict[str, Any]) -> str | None:
    """Why an anti-affinity term never counts the workload's own pods, None when it does."""
    selector, labels = term.get("labelSelector"), obj.pod_labels()
    if not label_selector_matches(selector, labels):  # a missing selector matches no pod, {} every pod
        return selector_mismatch(selector, labels)
    namespaces = [str(n) for n in term.get("namespaces") or ()]
    if namespaces and term.get("namespaceSelector") is None and obj.namespace not in namespaces:
        return f"looks only at namespace {', '.join(namespaces)}, pods run in {obj.namespace}"
    return None


@check("anti-affinity-ineffective", area="manifests", target="Deployment, StatefulSet, ReplicaSet",
       severity="warning", fix="make the term's labelSelector match the pod template labels (e.g. the workload's "
                               "selector.matchLabels) and leave namespaces unset",
       why="A podAntiAffinity term counts only the pods its labelSelector and namespaces match: one that misses "
           "the workload's own labels looks right but spreads nothing. When another term spreads the pods, or "
           "one pod runs, it may keep other apps away on purpose: info.")
def anti_affinity_ineffective(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """podAntiAffinity term whose selector misses the pod's own labels: it spreads none of the workload's pods."""
    terms = [(where, _misses_own_pods(obj, term)) for where, term in anti_affinity_terms(obj)]
    spreading = any(why is None for _, why in terms)
    several = ctx.several_pods(obj)
    for where, why in terms:
        if why is None:
            continue
        if spreading or several is None:  # another term spreads the pods, or there is one pod: it only repels
            yield obj.finding("anti-affinity-ineffective", f"podAntiAffinity {where} {why}: it keeps other pods "
                                                           "away but spreads none of these", severity="info")
        else:
            yield obj.finding("anti-affinity-ineffective", f"podAntiAffinity {where} {why}: it spreads none of "
                                                           f"the pods ({several}), one node can hold them all")


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
       fix="omit spec.replicas when an HPA scales the workload (or keep it within the HPA's range)",
       why="The Kubernetes docs advise removing spec.replicas once an HPA scales a workload: every kubectl "
           "apply resets the scale to the fixed value (outside the HPA's range it always fights it: warning; "
           "inside, info). Two HPAs on one workload overwrite each other's decisions.")
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
