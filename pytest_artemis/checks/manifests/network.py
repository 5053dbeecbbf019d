"""Cross-object checks: disruption budgets, Services, NetworkPolicies and HPAs against the workloads they select.

They look at the objects of the same namespace in the same scope (one kustomize render plus every
plain file of the session; see :mod:`.context`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import (
    SCALABLE_KINDS,
    ManifestObject,
    label_selector_matches,
    scaled_value,
    selector_mismatch,
    selector_text,
)
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["DIRECTIONS", "policy_types"]

#: NetworkPolicy directions, as ``policyTypes`` spells them.
DIRECTIONS = ("Ingress", "Egress")
#: Near-miss PodDisruptionBudgets a pdb-missing message names at most.
_NEAR_MISSES = 3


@check("pdb-missing", area="manifests", target="Deployment, StatefulSet, ReplicaSet", severity="warning",
       fix="add a PodDisruptionBudget in the workload's namespace whose selector matches its pod labels "
           "(e.g. maxUnavailable: 1)",
       why="kubectl drain, cluster upgrades and the cluster autoscaler evict through the Eviction API, which "
           "holds back only for pods a PodDisruptionBudget covers: without one a drain may evict every replica "
           "at once. A workload that runs one pod is not judged.")
def pdb_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Workload that may run 2+ pods (unset replicas count) with no PodDisruptionBudget: a drain can evict all."""
    several = ctx.several_pods(obj)
    if several is None or ctx.selecting(obj, "PodDisruptionBudget", "selector"):
        return
    labels = obj.pod_labels()
    here = sorted(ctx.in_namespace(obj.namespace, ("PodDisruptionBudget",)), key=lambda p: p.name != obj.name)
    near = [f"{p.ref} {selector_mismatch(p.spec.get('selector'), labels)}" for p in here]
    near += [f"{p.ref} is in namespace {p.namespace}, workload in {obj.namespace}"
             for p in ctx.of_kind("PodDisruptionBudget")
             if p.namespace != obj.namespace and label_selector_matches(p.spec.get("selector"), labels)]
    if len(near) > _NEAR_MISSES:
        near = near[:_NEAR_MISSES] + [f"{len(near) - _NEAR_MISSES} more"]
    why = f" ({'; '.join(near)})" if near else ""
    yield obj.finding("pdb-missing", f"{several} and no PodDisruptionBudget in namespace {obj.namespace} selects "
                                     f"its pods{why}: a drain can evict all at once")


@check("pdb-blocks-eviction", area="manifests", target="PodDisruptionBudget", severity="warning",
       fix="allow at least one disruption: maxUnavailable >= 1 or minAvailable < the replicas it covers",
       why="The API accepts a budget that allows no disruption, but as the Kubernetes docs warn, a node running "
           "one of its pods can then never be drained: node maintenance and cluster upgrades hang until someone "
           "edits the budget. A warning: the release itself runs, and a singleton may want it on purpose.")
def pdb_blocks_eviction(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """PodDisruptionBudget that never allows a disruption (maxUnavailable 0, minAvailable >= replicas)."""
    spec = obj.spec
    selected = [w for w in ctx.workloads_selected(spec.get("selector"), obj.namespace) if w.kind in SCALABLE_KINDS]
    total = sum(ctx.effective_replicas(w) or 0 for w in selected)
    if "maxUnavailable" in spec:
        allowed = scaled_value(spec["maxUnavailable"], max(total, 1), round_up=True)
        if allowed == 0:
            yield obj.finding("pdb-blocks-eviction", f"maxUnavailable {spec['maxUnavailable']}: no pod may ever be "
                                                     "evicted, node drains hang")
        return
    if "minAvailable" not in spec or not selected:
        return
    needed = scaled_value(spec["minAvailable"], total, round_up=True)
    if needed is not None and needed >= total:
        names = ", ".join(w.ref for w in selected)
        yield obj.finding("pdb-blocks-eviction", f"minAvailable {spec['minAvailable']} >= the {total} replicas of "
                                                 f"{names}: no pod may ever be evicted, node drains hang")


@check("service-selector-no-match", area="manifests", target="Service", severity="critical",
       fix="make spec.selector equal the pod template labels of the workload it fronts",
       why="The API accepts any selector; one that matches no pod template gives the Service no endpoints, so "
           "every connection to it is refused or times out once the release is out.")
def service_selector_no_match(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Service selector matches no pod template in its namespace: it has no endpoints."""
    selector = obj.spec.get("selector")
    if not isinstance(selector, dict) or not selector or obj.spec.get("type") == "ExternalName":
        return
    if not ctx.workloads_selected(selector, obj.namespace, plain=True):
        yield obj.finding("service-selector-no-match", f"selector {selector_text(selector)} matches no pod "
                                                       f"template in namespace {obj.namespace}: no endpoints")


@check("service-target-port-missing", area="manifests", target="Service", severity="critical",
       fix="set targetPort to a port name (or number) the selected containers declare",
       why="A named targetPort is looked up in the selected pods' declared container ports, and a name no pod "
           "declares gives the Service no endpoint for that port. An undeclared number still reaches the "
           "container (containerPort is informational), so it is a warning, most often a typo.")
def service_target_port_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Service targetPort names a port the selected pods do not declare (undeclared number: warning)."""
    selector = obj.spec.get("selector")
    if not isinstance(selector, dict) or not selector:
        return
    workloads = ctx.workloads_selected(selector, obj.namespace, plain=True)
    if not workloads:
        return
    ports = [p for w in workloads for p in w.container_ports()]
    names = {str(p.get("name")) for p in ports if p.get("name")}
    numbers = {p.get("containerPort") for p in ports}
    for port in obj.spec.get("ports") or ():
        if not isinstance(port, dict):
            continue
        target = port.get("targetPort", port.get("port"))
        label = port.get("name") or port.get("port")
        if isinstance(target, str) and not target.isdigit():
            if target not in names:
                yield obj.finding("service-target-port-missing",
                                  f"port {label}: targetPort {target!r} is not a named port of "
                                  f"{', '.join(w.ref for w in workloads)} "
                                  f"(named: {', '.join(sorted(names)) or 'none'})")
        elif isinstance(target, (int, str)) and not isinstance(target, bool) and numbers and int(target) not in numbers:
            yield obj.finding("service-target-port-missing",
                              f"port {label}: targetPort {target} is not declared by "
                              f"{', '.join(w.ref for w in workloads)}", severity="warning")


@check("networkpolicy-missing", area="manifests", target="workload", severity="warning",
       fix="add a default-deny NetworkPolicy for the namespace plus policies allowing the flows the pods need",
       why="Kubernetes pods are non-isolated by default and accept traffic from every pod in the cluster until "
           "a NetworkPolicy selects them, so one compromised pod can reach them all (with a network plugin that "
           "enforces policies).")
def networkpolicy_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Workload's pods are selected by no NetworkPolicy: every pod in the cluster can reach them."""
    if not ctx.selecting(obj, "NetworkPolicy", "podSelector"):
        yield obj.finding("networkpolicy-missing", f"no NetworkPolicy in namespace {obj.namespace} selects these "
                                                   "pods: all traffic is allowed")


def policy_types(policy: ManifestObject) -> set[str]:
    """The directions a NetworkPolicy restricts: ``policyTypes``, else Ingress plus Egress when it has egress rules."""
    declared = policy.spec.get("policyTypes")
    if isinstance(declared, list) and declared:
        return {str(t) for t in declared}
    return {"Ingress", "Egress"} if policy.spec.get("egress") else {"Ingress"}


@check("networkpolicy-direction-open", area="manifests", target="workload", severity="warning",
       fix="add a policy for the open direction selecting the pods (policyTypes: [Egress] or [Ingress]), "
           "e.g. a namespace default-deny with policyTypes: [Ingress, Egress]",
       why="A pod is isolated only in the directions a selecting policy lists in policyTypes: an ingress-only "
           "policy leaves egress open, so a compromised pod can reach other namespaces, the cloud metadata "
           "endpoint and the internet.")
def networkpolicy_direction_open(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Workload's pods are restricted by NetworkPolicies in one direction only: the other (ingress/egress) is open."""
    policies = ctx.selecting(obj, "NetworkPolicy", "podSelector")
    if not policies:
        return  # networkpolicy-missing reports both directions at once
    covered = set().union(*(policy_types(p) for p in policies))
    names = ", ".join(p.ref for p in policies)
    for direction in DIRECTIONS:
        if direction not in covered:
            only = " and ".join(d.lower() for d in DIRECTIONS if d in covered) or "no direction"
            yield obj.finding("networkpolicy-direction-open",
                              f"{direction.lower()} is open: the policies selecting these pods ({names}) cover "
                              f"{only} only, none in namespace {obj.namespace} has policyTypes {direction}")


@check("hpa-target-missing", area="manifests", target="HorizontalPodAutoscaler", severity="critical",
       fix="point scaleTargetRef at an existing Deployment/StatefulSet (kind, name, apiVersion)",
       why="The API accepts a scaleTargetRef that names nothing; the autoscaler then only records "
           "FailedGetScale events, so the workload stays at a fixed size and nobody notices until load arrives.")
def hpa_target_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """HorizontalPodAutoscaler scaleTargetRef names no object in its namespace: it scales nothing."""
    ref = obj.spec.get("scaleTargetRef")
    if not isinstance(ref, dict):
        return
    kind, name = ref.get("kind"), ref.get("name")
    if not any(o.name == name for o in ctx.in_namespace(obj.namespace, (kind,) if kind else None)):
        yield obj.finding("hpa-target-missing", f"scaleTargetRef {kind}/{name} is not in namespace {obj.namespace}: "
                                                "the HPA scales nothing")
