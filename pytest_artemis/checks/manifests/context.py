"""The cross-object index and what a check sees besides its own object.

Cross-object checks (PodDisruptionBudget, Service, NetworkPolicy, HorizontalPodAutoscaler) look at
the other objects of the same namespace. Which objects count together: one kustomize render is one
deployable unit (its objects see each other), and every plain YAML file of the session shares one
pool that every object also sees. The index is built once per session and answers by namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeGuard

from pytest_artemis.checks.manifests.model import (
    SCALABLE_KINDS,
    WORKLOAD_KINDS,
    ManifestObject,
    label_selector_matches,
)

__all__ = ["PLAIN_SCOPE", "CheckContext", "ManifestIndex"]

#: The scope of objects read from plain YAML files (as opposed to one kustomize render each).
PLAIN_SCOPE = "plain"


@dataclass
class CheckContext:
    """What a check gets next to its object: the Kubernetes version and the objects it may relate to."""

    version: str = "1.30"
    objects: list[ManifestObject] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_namespace: dict[str, list[ManifestObject]] = {}
        self._by_kind: dict[tuple[str, str], list[ManifestObject]] = {}
        for obj in self.objects:
            self._by_namespace.setdefault(obj.namespace, []).append(obj)
            self._by_kind.setdefault((obj.namespace, obj.kind), []).append(obj)
        self._hpas: dict[tuple[str, str, str], list[ManifestObject]] = {}
        for hpa in self.objects:
            ref = hpa.spec.get("scaleTargetRef") if hpa.kind == "HorizontalPodAutoscaler" else None
            if isinstance(ref, dict):
                key = (hpa.namespace, str(ref.get("kind")), str(ref.get("name")))
                self._hpas.setdefault(key, []).append(hpa)

    def in_namespace(self, namespace: str, kinds: Iterable[str] | None = None) -> list[ManifestObject]:
        if kinds is None:
            return list(self._by_namespace.get(namespace, ()))
        return [o for kind in kinds for o in self._by_kind.get((namespace, kind), ())]

    def workloads_selected(self, selector: object, namespace: str, *, plain: bool = False) -> list[ManifestObject]:
        """Workloads in ``namespace`` whose pod labels a selector matches (``plain``: a Service selector)."""
        found = []
        for obj in self.in_namespace(namespace, WORKLOAD_KINDS):
            labels = obj.pod_labels()
            if plain:
                matched = isinstance(selector, dict) and bool(selector) and all(
                    str(labels.get(str(k))) == str(v) for k, v in selector.items())
            else:
                matched = label_selector_matches(selector, labels)
            if matched:
                found.append(obj)
        return found

    def hpas_targeting(self, obj: ManifestObject) -> list[ManifestObject]:
        return list(self._hpas.get((obj.namespace, obj.kind, obj.name), ()))

    def effective_replicas(self, obj: ManifestObject) -> int | None:
        """Replicas the workload runs with at least: the HPA's minReplicas when one scales it."""
        if obj.kind not in SCALABLE_KINDS:
            return None
        hpas = self.hpas_targeting(obj)
        if hpas:
            minimum = hpas[0].spec.get("minReplicas", 1)
            return minimum if isinstance(minimum, int) else 1
        return obj.replicas()

    def several_pods(self, obj: ManifestObject) -> str | None:
        """Why the workload may run 2 or more pods (for messages), None when it runs at most one.

        An HPA scaling it decides (its maxReplicas); without one in view, ``replicas`` unset may still be
        scaled by an HPA applied elsewhere, so only an explicit ``replicas`` below 2 means one pod.
        """
        if obj.kind not in SCALABLE_KINDS:
            return None
        hpas = self.hpas_targeting(obj)
        if hpas:
            low, high = hpas[0].spec.get("minReplicas", 1), hpas[0].spec.get("maxReplicas")
            if _count(high) and high < 2:
                return None
            span = f"{low}-{high}" if _count(low) and _count(high) else "several"
            return f"{hpas[0].ref} scales it to {span} replicas"
        replicas = obj.spec.get("replicas")
        if replicas is None:
            return "replicas unset (an HPA may scale it)"
        return f"{replicas} replicas" if _count(replicas) and replicas >= 2 else None

    def of_kind(self, kind: str) -> list[ManifestObject]:
        """Objects of ``kind`` in every namespace of the scope (to say why one elsewhere does not count)."""
        return [o for (_, k), found in self._by_kind.items() if k == kind for o in found]

    def selecting(self, obj: ManifestObject, kind: str, selector_key: str) -> list[ManifestObject]:
        """Objects of ``kind`` in the workload's namespace whose ``spec.<selector_key>`` matches its pods."""
        labels = obj.pod_labels()
        return [o for o in self.in_namespace(obj.namespace, (kind,))
                if label_selector_matches(o.spec.get(selector_key), labels)]


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class ManifestIndex:
    """Every object of the session, by scope; hands out one cached :class:`CheckContext` per scope."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._scopes: dict[str, list[ManifestObject]] = {}
        self._sources: set[str] = set()
        self._contexts: dict[str, CheckContext] = {}

    def has_source(self, source: str) -> bool:
        return source in self._sources

    def add(self, source: str, objects: Iterable[ManifestObject]) -> None:
        """Register the objects read from one source (a file or a render); a source counts once."""
        if source in self._sources:
            return
        self._sources.add(source)
        for obj in objects:
            self._scopes.setdefault(obj.scope or PLAIN_SCOPE, []).append(obj)
        self._contexts.clear()

    def context(self, scope: str) -> CheckContext:
        scope = scope or PLAIN_SCOPE
        if scope not in self._contexts:
            objects = list(self._scopes.get(scope, ()))
            if scope != PLAIN_SCOPE:
                objects += self._scopes.get(PLAIN_SCOPE, ())
            self._contexts[scope] = CheckContext(self.version, objects)
        return self._contexts[scope]

    def __len__(self) -> int:
        return sum(len(v) for v in self._scopes.values())
