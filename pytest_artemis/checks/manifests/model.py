"""The manifest object model: one Kubernetes object with where it came from, and the helpers checks share.

A :class:`ManifestObject` wraps one parsed document (after ``List`` expansion and kustomize rendering)
with its source file, line and the cross-object scope it belongs to. Pod-template access, container
iteration, label-selector matching and quantity/percent parsing live here so every check reads
objects the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_artemis.checks.registry import REGISTRY
from pytest_artemis.findings import Finding

__all__ = [
    "IGNORE_ANNOTATION",
    "SCALABLE_KINDS",
    "SERVING_KINDS",
    "WORKLOAD_KINDS",
    "ManifestObject",
    "label_selector_matches",
    "scaled_value",
    "selector_mismatch",
    "selector_text",
]

IGNORE_ANNOTATION = "artemis.io/ignore"
#: Kinds that carry a pod template (a bare Pod is its own template).
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"})
#: Kinds with a replica count (what PDBs, HPAs and replica checks reason about).
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})
#: Long-running kinds that serve traffic (probes matter); Jobs and CronJobs run to completion.
SERVING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"})


@dataclass
class ManifestObject:
    """One Kubernetes object as the gate sees it.

    ``file`` is the source file relative to the rootdir (for a kustomize render: the file the object
    came from, per kustomize's origin annotation); ``source`` is what was collected (the file, or the
    kustomization file of the render); ``scope`` groups the objects that cross-object checks look at
    together (one kustomize render, or every plain file of the session).
    """

    doc: dict[str, Any]
    file: str
    line: int = 0
    source: str = ""
    scope: str = ""
    ignored: frozenset[str] = field(default=frozenset())
    _pod_labels: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = self.annotations.get(IGNORE_ANNOTATION, "")
        ids = {part.strip() for part in str(raw).split(",") if part.strip()}
        self.ignored = frozenset(ids)

    # ----------------------------------------------------------------- identity

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.doc.get("apiVersion") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.doc.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or self.metadata.get("generateName") or "")

    @property
    def namespace(self) -> str:
        """The effective namespace: as given, else ``default`` (where ``kubectl apply`` puts it)."""
        return str(self.metadata.get("namespace") or "default")

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def ref(self) -> str:
        """``Kind/name`` as item ids and messages show it."""
        return f"{self.kind}/{self.name}"

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}

    # ----------------------------------------------------------------- workloads

    @property
    def is_workload(self) -> bool:
        return self.kind in WORKLOAD_KINDS

    def pod_template(self) -> dict[str, Any] | None:
        """``{"metadata": ..., "spec": ...}`` of the pods this object runs, or None."""
        if self.kind == "Pod":
            return {"metadata": self.metadata, "spec": self.spec}
        if self.kind == "CronJob":
            job = mapping(mapping(self.spec.get("jobTemplate")).get("spec"))
            template = job.get("template")
        elif self.kind in WORKLOAD_KINDS:
            template = self.spec.get("template")
        else:
            return None
        return template if isinstance(template, dict) else None

    def pod_spec(self) -> dict[str, Any]:
        template = self.pod_template()
        return mapping(template.get("spec")) if template else {}

    def pod_labels(self) -> dict[str, str]:
        """Labels of the pods this object runs (computed once)."""
        if self._pod_labels is None:
            template = self.pod_template()
            labels = mapping(mapping(template.get("metadata")).get("labels")) if template else {}
            self._pod_labels = {str(k): str(v) for k, v in labels.items()}
        return self._pod_labels

    def containers(self, *, init: bool = True) -> Iterator[dict[str, Any]]:
        """The containers of the pod template (init containers first when ``init``); only mappings."""
        spec = self.pod_spec()
        keys = ("initContainers", "containers") if init else ("containers",)
        for key in keys:
            for container in spec.get(key) or ():
                if isinstance(container, dict):
                    yield container

    def container_ports(self) -> list[dict[str, Any]]:
        return [p for c in self.containers(init=False) for p in (c.get("ports") or ()) if isinstance(p, dict)]

    def replicas(self) -> int | None:
        """Declared replicas (1 when omitted for a scalable kind), None for other kinds."""
        if self.kind not in SCALABLE_KINDS:
            return None
        value = self.spec.get("replicas", 1)
        return value if isinstance(value, int) else 1

    # ----------------------------------------------------------------- findings

    def finding(self, check_id: str, message: str, *, container: str = "", severity: str | None = None,
                fix: str | None = None) -> Finding:
        """A finding of ``check_id`` on this object, with the check's default severity and fix."""
        registered = REGISTRY.get(check_id)
        return Finding(
            check=check_id,
            severity=severity or (registered.severity if registered else "critical"),  # type: ignore[arg-type]
            message=message,
            kind=self.kind,
            name=self.name,
            namespace=self.namespace,
            file=self.file,
            container=container,
            fix=fix if fix is not None else (registered.fix if registered else ""),
        )


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one (manifests may hold anything anywhere)."""
    return value if isinstance(value, dict) else {}


def label_selector_matches(selector: Any, labels: Mapping[str, str], *, empty_matches_all: bool = True) -> bool:
    """A ``LabelSelector`` (matchLabels + matchExpressions) against labels.

    ``{}`` matches every pod when ``empty_matches_all`` (NetworkPolicy podSelector, policy/v1 PDB);
    a missing (None) selector matches nothing.
    """
    if not isinstance(selector, dict):
        return False
    match_labels = mapping(selector.get("matchLabels"))
    expressions = [e for e in (selector.get("matchExpressions") or ()) if isinstance(e, dict)]
    if not match_labels and not expressions:
        return empty_matches_all
    if any(str(labels.get(str(k))) != str(v) for k, v in match_labels.items()):
        return False
    for expression in expressions:
        key = str(expression.get("key"))
        values = {str(v) for v in expression.get("values") or ()}
        operator = expression.get("operator")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


_OPERATORS = {"In": "{key} in ({values})", "NotIn": "{key} notin ({values})", "Exists": "{key}",
              "DoesNotExist": "!{key}"}


def selector_text(selector: Any) -> str:
    """A selector as ``kubectl get -l`` writes one (``app=web, tier in (a, b), !legacy``); a plain map too."""
    if not isinstance(selector, dict):
        return "none"
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ", ".join(f"{k}={v}" for k, v in sorted(selector.items(), key=str)) or "{}"
    parts = [f"{k}={v}" for k, v in sorted(mapping(selector.get("matchLabels")).items(), key=str)]
    for expression in selector.get("matchExpressions") or ():
        if isinstance(expression, dict):
            operator = str(expression.get("operator"))
            values = ", ".join(str(v) for v in expression.get("values") or ())
            form = _OPERATORS.get(operator, "{key} " + operator + " ({values})")
            parts.append(form.format(key=expression.get("key"), values=values))
    return ", ".join(parts) or "{}"


def selector_mismatch(selector: Any, labels: Mapping[str, str]) -> str:
    """Why a ``LabelSelector`` does not match ``labels``: ``selects app=foo, pods have app=bar``."""
    if not isinstance(selector, dict):
        return "has no selector: it selects no pod"
    keys = [str(k) for k in mapping(selector.get("matchLabels"))]
    keys += [str(e.get("key")) for e in selector.get("matchExpressions") or () if isinstance(e, dict)]
    have = [f"{k}={labels[k]}" if k in labels else f"no {k} label" for k in dict.fromkeys(keys)]
    return f"selects {selector_text(selector)}, pods have {', '.join(have) or 'no labels'}"


def scaled_value(value: Any, total: int, *, round_up: bool) -> int | None:
    """An int-or-percent (``1``, ``"25%"``) resolved against ``total``; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                percent = float(text[:-1])
            except ValueError:
                return None
            exact = total * percent / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        if text.isdigit():
            return int(text)
    return None
