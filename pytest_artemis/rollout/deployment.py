"""Deployment rollouts through :class:`~pytest_artemis.clients.kube.KubeClient` (no pytest).

* :func:`rollout_status` - ``kubectl rollout status`` semantics on one read of a Deployment: the spec update
  observed (``observedGeneration >= generation``), every replica updated, no old replica left, every updated
  replica available; a ``Progressing`` condition with reason ``ProgressDeadlineExceeded`` is a failure.
* :func:`fail_fast_reason` - what makes waiting pointless: a new pod in CrashLoopBackOff, ImagePullBackOff /
  ErrImagePull, OOMKilled, CreateContainerConfigError, or restarting more often than a limit.
* :class:`Rollouts` - ``wait``, ``update(image=..., env=...)``, ``undo()`` to the previous revision (the
  ReplicaSets' ``deployment.kubernetes.io/revision`` annotations) and ``history()``.
* :func:`object_meta` - the metadata of an object read from the API (a :class:`ClusterError` when it has none).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from kubernetes import client as k8s

from pytest_artemis.clients.kube import KubeClient
from pytest_artemis.errors import ClusterError, ConflictError, RolloutFailedError

__all__ = ["FAIL_FAST_WAITING", "REVISION", "Revision", "RolloutStatus", "Rollouts", "fail_fast_reason",
           "object_meta", "rollout_status"]

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
#: Waiting reasons of a container that no amount of waiting fixes.
FAIL_FAST_WAITING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                     "CreateContainerError", "InvalidImageName")


@dataclass(frozen=True)
class RolloutStatus:
    """One look at a Deployment's rollout."""

    deployment: str
    done: bool
    message: str
    failed: bool = False
    reason: str = ""
    generation: int = 0
    observed_generation: int = 0
    replicas: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    revision: int = 0
    elapsed: float = 0.0


@dataclass(frozen=True)
class Revision:
    """One entry of ``kubectl rollout history``."""

    revision: int
    replicaset: str
    images: tuple[str, ...]
    change_cause: str = ""
    replicas: int = 0
    ready: int = 0
    template: Mapping[str, Any] = field(default_factory=dict, compare=False)


def object_meta(obj: k8s.V1Deployment | k8s.V1ReplicaSet | k8s.V1Pod) -> k8s.V1ObjectMeta:
    """The metadata of an object read from the API server (which always sets it; the client models make it
    optional): a :class:`ClusterError` naming the kind of object when it is missing."""
    if obj.metadata is None:
        kind = obj.kind or type(obj).__name__.removeprefix("V1")
        raise ClusterError(f"the Kubernetes API returned a {kind} without metadata")
    return obj.metadata


class _Figures(TypedDict):
    """The counters of a :class:`RolloutStatus` read from a Deployment."""

    generation: int
    observed_generation: int
    replicas: int
    updated: int
    ready: int
    available: int


def rollout_status(dep: k8s.V1Deployment) -> RolloutStatus:
    """The rollout status of a Deployment read, as ``kubectl rollout status`` words it."""
    meta = object_meta(dep)
    name = str(meta.name)
    status = dep.status or k8s.V1DeploymentStatus()
    want = dep.spec.replicas if dep.spec.replicas is not None else 1
    figures: _Figures = {
        "generation": meta.generation or 0, "observed_generation": status.observed_generation or 0,
        "replicas": status.replicas or 0, "updated": status.updated_replicas or 0,
        "ready": status.ready_replicas or 0, "available": status.available_replicas or 0}
    if figures["generation"] > figures["observed_generation"]:
        return RolloutStatus(name, False, "waiting for deployment spec update to be observed", **figures)
    progressing = next((c for c in status.conditions or [] if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        return RolloutStatus(name, False, f"deployment {name} exceeded its progress deadline"
                             + (f": {progressing.message}" if progressing.message else ""), failed=True,
                             reason="ProgressDeadlineExceeded", **figures)
    if figures["updated"] < want:
        message = f"{figures['updated']} out of {want} new replicas have been updated"
    elif figures["replicas"] > figures["updated"]:
        message = f"{figures['replicas'] - figures['updated']} old replicas are pending termination"
    elif figures["available"] < figures["updated"]:
        message = f"{figures['available']} of {figures['updated']} updated replicas are available"
    else:
        return RolloutStatus(name, True, f"deployment {name} successfully rolled out", **figures)
    return RolloutStatus(name, False, f"waiting for deployment {name} rollout to finish: {message}", **figures)


def fail_fast_reason(pods: list[k8s.V1Pod], restart_limit: int) -> tuple[str, str, str, str] | None:
    """(reason, pod, container, detail) of the first new pod that will not recover by waiting, else None."""
    for pod in pods:
        statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])] \
            if pod.status else []
        for cs in statuses:
            state, last = cs.state or k8s.V1ContainerState(), cs.last_state or k8s.V1ContainerState()
            pod_name = str(object_meta(pod).name)
            for terminated in (state.terminated, last.terminated):
                if terminated is not None and terminated.reason == "OOMKilled":
                    detail = (f"killed for exceeding its memory limit (exit {terminated.exit_code}, "
                              f"{cs.restart_count} restarts)")
                    return ("OOMKilled", pod_name, cs.name, detail)
            waiting = state.waiting
            if waiting is not None and waiting.reason in FAIL_FAST_WAITING:
                detail = waiting.message or ""
                if last.terminated is not None:
                    detail += f" (last exit {last.terminated.exit_code} {last.terminated.reason or ''})".rstrip()
                return waiting.reason, pod_name, cs.name, (detail.strip() or waiting.reason) + \
                    f"; {cs.restart_count} restarts"
            if cs.restart_count > restart_limit:
                return ("RestartLimitExceeded", pod_name, cs.name,
                        f"{cs.restart_count} restarts, above the limit of {restart_limit}")
    return None


def _revision(rs: k8s.V1ReplicaSet) -> int:
    try:
        return int((object_meta(rs).annotations or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


class Rollouts:
    """Rollouts of the Deployments of one namespace."""

    def __init__(self, kube: KubeClient, namespace: str, *, restart_limit: int = 2, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.kube = kube
        self.namespace = namespace
        self.restart_limit = restart_limit
        self.interval = interval
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------ reads

    def status(self, name: str) -> RolloutStatus:
        return rollout_status(self.kube.deployment(name, self.namespace))

    def replicasets(self, name: str) -> list[k8s.V1ReplicaSet]:
        """The ReplicaSets the Deployment owns, oldest revision first."""
        dep = self.kube.deployment(name, self.namespace)
        labels = dep.spec.selector.match_labels or {}
        uid = object_meta(dep).uid
        owned = [rs for rs in self.kube.replicasets(self.namespace, _selector(labels))
                 if any(ref.uid == uid for ref in object_meta(rs).owner_references or [])]
        return sorted(owned, key=_revision)

    def new_pods(self, name: str) -> list[k8s.V1Pod]:
        """The pods of the Deployment's newest ReplicaSet (those the rollout brings up)."""
        sets = self.replicasets(name)
        if not sets:
            return []
        newest = sets[-1]
        return self.kube.pods(self.namespace, _selector(newest.spec.selector.match_labels or {}))

    def history(self, name: str) -> list[Revision]:
        out = []
        for rs in self.replicasets(name):
            template = self.kube.api.sanitize_for_serialization(rs.spec.template) or {}
            pod_spec = rs.spec.template.spec if rs.spec.template else None
            images = tuple(c.image or "" for c in pod_spec.containers) if pod_spec else ()
            meta = object_meta(rs)
            out.append(Revision(_revision(rs), str(meta.name), images, (meta.annotations or {}).get(CHANGE_CAUSE, ""),
                                (rs.status.replicas or 0) if rs.status else 0,
                                (rs.status.ready_replicas or 0) if rs.status else 0, template))
        return out

    # ------------------------------------------------------------------ wait

    def wait(self, name: str, timeout: float) -> RolloutStatus:
        """Wait until the rollout is complete; raise :class:`RolloutFailedError` at once when it cannot be."""
        start = self._clock()
        while True:
            status = self.status(name)
            elapsed = self._clock() - start
            if status.failed:
                raise RolloutFailedError(f"rollout of deployment/{name} failed after {elapsed:.1f}s: "
                                         f"{status.message}", reason=status.reason, deployment=name)
            if status.done:
                revision = max((_revision(rs) for rs in self.replicasets(name)), default=0)
                return RolloutStatus(**{**status.__dict__, "revision": revision, "elapsed": elapsed})
            observed = status.observed_generation >= status.generation
            found = fail_fast_reason(self.new_pods(name), self.restart_limit) if observed else None
            if found is not None:
                reason, pod, container, detail = found
                raise RolloutFailedError(f"rollout of deployment/{name} failed fast after {elapsed:.1f}s: pod {pod} "
                                         f"container {container} {reason}: {detail}", reason=reason,
                                         deployment=name, pod=pod, container=container)
            if elapsed >= timeout:
                raise RolloutFailedError(f"rollout of deployment/{name} not done within {timeout:g}s: "
                                         f"{status.message}", reason="timeout", deployment=name)
            self._sleep(self.interval)

    # ------------------------------------------------------------------ changes

    def _change(self, name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        for attempt in range(3):
            body = self.kube.deployment_raw(name, self.namespace)
            change(body)
            try:
                return self.kube.replace_deployment(body)
            except ConflictError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def update(self, name: str, *, image: str | None = None, env: Mapping[str, str | None] | None = None,
               container: str | None = None, cause: str = "") -> dict[str, Any]:
        """Change a container's image and/or environment (a value of None removes the variable)."""
        def change(body: dict[str, Any]) -> None:
            containers = body["spec"]["template"]["spec"]["containers"]
            target = next((c for c in containers if container in (None, c["name"])), None)
            if target is None:
                raise ClusterError(f"deployment/{name} has no container {container}; it has "
                                   + ", ".join(c["name"] for c in containers))
            if image is not None:
                target["image"] = image
            if env:
                current = [e for e in target.get("env", []) if e["name"] not in env]
                current += [{"name": k, "value": v} for k, v in env.items() if v is not None]
                target["env"] = current
            text = cause or f"pytest-artemis update {'image ' + image if image else ''} {' '.join(env or {})}"
            body["metadata"].setdefault("annotations", {})[CHANGE_CAUSE] = " ".join(text.split())
        return self._change(name, change)

    def undo(self, name: str, to_revision: int | None = None) -> Revision:
        """Roll back to ``to_revision`` (default: the revision before the current one), as ``kubectl rollout undo``."""
        history = self.history(name)
        if not history:
            raise ClusterError(f"deployment/{name} has no ReplicaSets: nothing to roll back to")
        current = history[-1].revision
        earlier = [r for r in history if (r.revision == to_revision if to_revision else r.revision < current)]
        if not earlier:
            raise ClusterError(f"deployment/{name} has no revision {to_revision or 'before ' + str(current)} "
                               f"(revisions: {', '.join(str(r.revision) for r in history)})")
        target = earlier[-1]

        def change(body: dict[str, Any]) -> None:
            template = {**target.template, "metadata": dict(target.template.get("metadata", {}))}
            labels = {k: v for k, v in template["metadata"].get("labels", {}).items() if k != "pod-template-hash"}
            template["metadata"]["labels"] = labels
            body["spec"]["template"] = template
            body["metadata"].setdefault("annotations", {})[CHANGE_CAUSE] = f"rollback to revision {target.revision}"
        self._change(name, change)
        return target
