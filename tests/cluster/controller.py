"""A scripted deployment controller, ReplicaSet controller and kubelet over the emulated API's store.

Every ``tick`` it moves each Deployment one step as the real controllers do: a changed pod template gets a
new ReplicaSet (``<name>-<pod-template-hash>``, revision annotation one above the highest) or, for a template
seen before (an undo), the old ReplicaSet takes the next revision; ``observedGeneration`` follows
``generation``; a rolling update with maxSurge 1 / maxUnavailable 0 scales the new set up one pod at a time
and an old one down only while more pods are ready than wanted; replica counts and the ``Available`` /
``Progressing`` conditions follow; no progress for ``progressDeadlineSeconds`` is ``ProgressDeadlineExceeded``.
Pods behave by image, as scripted with :meth:`Controller.script`: ``ok`` (ready after a few ticks), ``stuck``
(Pending, unschedulable), ``crashloop``, ``imagepull``, ``oom``, ``configerror``, ``restarts`` (running, never
ready, restarting every tick). Events and container logs are written as the kubelet would.
With :attr:`Controller.pods` set (a :class:`pods.ProcessPods`), an ``ok`` pod is a real reference-service
process behind a loopback balancer, Ready when the process says so; in its ``broken`` order the old
ReplicaSets are scaled to zero at once when a rollout starts (as with maxUnavailable 100%). Jobs are
:mod:`jobs`' (their pods run their commands for real once :attr:`Controller.commands` is set).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from typing import Any

from jobs import CommandPods, JobController
from kubeapi import Store, now
from pods import ProcessPods

BEHAVIOURS = ("ok", "stuck", "crashloop", "imagepull", "oom", "configerror", "restarts")
REVISION = "deployment.kubernetes.io/revision"


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


class Controller:
    def __init__(self, store: Store, tick: float = 0.03, start_ticks: int = 2) -> None:
        self.store = store
        self.tick = tick
        self.start_ticks = start_ticks
        self.images: dict[str, str] = {}
        self.pods: ProcessPods | None = None
        self.jobs = JobController(store, self.event)
        self.commands: CommandPods | None = None  # set: a Job's pods run their commands as local processes
        self._progress: dict[str, tuple[tuple[int, ...], float]] = {}
        self._ages: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulated-controllers", daemon=True)

    def script(self, image: str, behaviour: str) -> None:
        assert behaviour in BEHAVIOURS, behaviour
        self.images[image] = behaviour

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            with self.store.lock:
                for key, dep in list(self.store.objects.items()):
                    if key[:2] == ("apps/v1", "deployments"):
                        self.reconcile(dep)
                for key, job in list(self.store.objects.items()):
                    if key[:2] == ("batch/v1", "jobs"):
                        self.jobs.reconcile(job)
                self.jobs.collect_garbage()
                live = set()
                for key, pod in list(self.store.objects.items()):
                    if key[1] != "pods" or key not in self.store.objects:
                        continue
                    live.add(pod["metadata"]["uid"])
                    owners = {r["kind"] for r in pod["metadata"].get("ownerReferences", [])}
                    if self.commands is not None and "Job" in owners:
                        self.commands.kubelet(pod)
                    else:
                        self.kubelet(pod)
                if self.commands is not None:
                    self.commands.collect(live)

    # ------------------------------------------------------------------ helpers

    def event(self, obj: dict[str, Any], reason: str, message: str, type_: str = "Normal",
              component: str = "deployment-controller") -> None:
        meta = obj["metadata"]
        name = f"{meta['name']}.{next(self._ids):06x}"
        self.store.create(("v1", "events", meta["namespace"], name), {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"]},
            "reason": reason, "message": message, "type": type_, "count": 1, "source": {"component": component},
            "firstTimestamp": now(), "lastTimestamp": now(), "reportingComponent": component})

    def owned(self, plural: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        return [o for o in self.store.items("apps/v1" if plural == "replicasets" else "v1", plural,
                                            owner["metadata"]["namespace"])
                if any(r["uid"] == uid for r in o["metadata"].get("ownerReferences", []))]

    def ref(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        meta = owner["metadata"]
        return [{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
                 "controller": True, "blockOwnerDeletion": True}]

    @staticmethod
    def revision(rs: dict[str, Any]) -> int:
        return int(rs["metadata"].get("annotations", {}).get(REVISION, "0"))

    def ready(self, pod: dict[str, Any]) -> bool:
        return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))

    # ------------------------------------------------------------------ deployment + replica set controllers

    def reconcile(self, dep: dict[str, Any]) -> None:
        meta, spec = dep["metadata"], dep["spec"]
        ns, name = meta["namespace"], meta["name"]
        hash_ = template_hash(spec["template"])
        sets = self.owned("replicasets", dep)
        top = max((self.revision(rs) for rs in sets), default=0)
        new = next((rs for rs in sets if rs["metadata"]["labels"].get("pod-template-hash") == hash_), None)
        if new is None:
            template = json.loads(json.dumps(spec["template"]))
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = hash_
            selector = {"matchLabels": {**spec["selector"]["matchLabels"], "pod-template-hash": hash_}}
            annotations = {REVISION: str(top + 1)}
            cause = meta.get("annotations", {}).get("kubernetes.io/change-cause")
            if cause:
                annotations["kubernetes.io/change-cause"] = cause
            new = self.store.create(("apps/v1", "replicasets", ns, f"{name}-{hash_}"), {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"labels": template["metadata"]["labels"], "annotations": annotations,
                             "ownerReferences": self.ref(dep)},
                "spec": {"replicas": 0, "selector": selector, "template": template}, "status": {"replicas": 0}})
            sets.append(new)
            self.event(dep, "ScalingReplicaSet", f"Scaled up replica set {name}-{hash_} to 0")
        elif self.revision(new) != top:
            new["metadata"]["annotations"][REVISION] = str(top + 1)
        desired = spec.get("replicas", 1)
        old = [rs for rs in sets if rs is not new and rs["spec"]["replicas"] > 0]
        if old and self.pods is not None and self.pods.order == "broken":
            for rs in old:  # every old pod goes at once, before any new one is ready
                rs["spec"]["replicas"] = 0
                self.event(dep, "ScalingReplicaSet", f"Scaled down replica set {rs['metadata']['name']} to 0")
            old = []
        ready_total = sum(self.ready(p) for rs in sets for p in self.owned("pods", rs))
        total = sum(rs["spec"]["replicas"] for rs in sets)
        if new["spec"]["replicas"] < desired and total < desired + 1:
            new["spec"]["replicas"] += 1
            self.event(dep, "ScalingReplicaSet", f"Scaled up replica set {new['metadata']['name']} to "
                       f"{new['spec']['replicas']}")
        unhealthy = [rs for rs in old if not all(self.ready(p) for p in self.owned("pods", rs))]
        if (unhealthy or (old and ready_total > desired)) and new["spec"]["replicas"] >= min(desired, 1):
            (unhealthy or old)[0]["spec"]["replicas"] -= 1
            down = (unhealthy or old)[0]
            self.event(dep, "ScalingReplicaSet", f"Scaled down replica set {down['metadata']['name']} to "
                       f"{down['spec']['replicas']}")
        for rs in sets:
            self.replicas(rs)
        self.status(dep, new, sets, desired)

    def replicas(self, rs: dict[str, Any]) -> None:
        pods = self.owned("pods", rs)
        meta = rs["metadata"]
        while len(pods) < rs["spec"]["replicas"]:
            name = f"{meta['name']}-{next(self._ids):05x}"
            template = rs["spec"]["template"]
            pod = self.store.create(("v1", "pods", meta["namespace"], name), {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"labels": dict(template["metadata"]["labels"]), "ownerReferences": self.ref(rs)},
                "spec": json.loads(json.dumps(template["spec"])),
                "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}})
            pods.append(pod)
            self.event(rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller")
        for pod in pods[rs["spec"]["replicas"]:]:
            self.store.delete(("v1", "pods", meta["namespace"], pod["metadata"]["name"]))
            if self.pods is not None:
                self.pods.delete(pod["metadata"]["name"])
            self.event(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                       component="replicaset-controller")
        pods = pods[: rs["spec"]["replicas"]]
        self.store.set_status(("apps/v1", "replicasets", meta["namespace"], meta["name"]), {
            "replicas": len(pods), "readyReplicas": sum(map(self.ready, pods)),
            "availableReplicas": sum(map(self.ready, pods)), "observedGeneration": meta.get("generation", 1)})

    def status(self, dep: dict[str, Any], new: dict[str, Any], sets: list[dict[str, Any]], desired: int) -> None:
        meta = dep["metadata"]
        pods = [p for rs in sets for p in self.owned("pods", rs)]
        updated = len(self.owned("pods", new))
        ready = sum(map(self.ready, pods))
        figures = (meta["generation"], updated, ready, len(pods))
        seen = self._progress.get(meta["uid"])
        if seen is None or seen[0] != figures:
            self._progress[meta["uid"]] = seen = (figures, time.monotonic())
        complete = updated == desired and len(pods) == desired and ready == desired
        deadline = dep["spec"].get("progressDeadlineSeconds", 600)
        if complete:
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                           "message": f'ReplicaSet "{new["metadata"]["name"]}" has successfully progressed.'}
        elif time.monotonic() - seen[1] > deadline:
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.'}
        else:
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": f'ReplicaSet "{new["metadata"]["name"]}" is progressing.'}
        available = {"type": "Available", "status": "True" if ready >= desired else "False",
                     "reason": "MinimumReplicasAvailable" if ready >= desired else "MinimumReplicasUnavailable",
                     "message": "Deployment has minimum availability." if ready >= desired
                     else "Deployment does not have minimum availability."}
        self.store.set_status(("apps/v1", "deployments", meta["namespace"], meta["name"]), {
            "observedGeneration": meta["generation"], "replicas": len(pods), "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": max(0, desired - ready),
            "conditions": [available, progressing]})

    # ------------------------------------------------------------------ kubelet

    def kubelet(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        age = self._ages[meta["uid"]] = self._ages.get(meta["uid"], 0) + 1
        statuses = []
        phase, ready = "Pending", False
        for container in pod["spec"]["containers"]:
            image, name = container.get("image", ""), container["name"]
            behaviour = self.images.get(image, "ok")
            cs: dict[str, Any] = {"name": name, "image": image, "imageID": "", "ready": False, "restartCount": 0,
                                  "started": False, "state": {"waiting": {"reason": "ContainerCreating"}},
                                  "lastState": {}}
            logs_key = (meta["namespace"], meta["name"], name)
            if behaviour == "stuck":
                pod["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                 "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]}
                if age == 1:
                    self.event(pod, "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.", "Warning",
                               "default-scheduler")
                return
            if age >= self.start_ticks:
                cs["imageID"] = f"docker-pullable://{image}@sha256:{template_hash({'i': image}) * 6}"[:120]
                self.run(pod, cs, behaviour, age, logs_key, image)
                ready = ready or cs["ready"]
                phase = "Running" if behaviour in ("ok", "restarts", "crashloop", "oom") else "Pending"
            statuses.append(cs)
        all_ready = bool(statuses) and all(cs["ready"] for cs in statuses)
        conditions = [{"type": "PodScheduled", "status": "True"},
                      {"type": "Ready", "status": "True" if all_ready else "False"},
                      {"type": "ContainersReady", "status": "True" if all_ready else "False"}]
        self.store.set_status(("v1", "pods", meta["namespace"], meta["name"]), {
            "phase": phase, "conditions": conditions, "containerStatuses": statuses, "podIP": "10.0.0.1",
            "startTime": meta["creationTimestamp"]})

    def run(self, pod: dict[str, Any], cs: dict[str, Any], behaviour: str, age: int,
            logs_key: tuple[str, str, str], image: str) -> None:
        logs = self.store.logs
        first = age == self.start_ticks
        if behaviour == "ok" and self.pods is not None:
            if self.pods.ready(pod["metadata"]["name"]):
                cs.update(ready=True, started=True, state={"running": {"startedAt": now()}})
            logs[(*logs_key, False)] = [f"starting {image} as a reference-service process"]
        elif behaviour == "ok":
            cs.update(ready=True, started=True, state={"running": {"startedAt": now()}})
            logs[(*logs_key, False)] = [f"starting {image}", "listening on 0.0.0.0:8000", "ready"]
        elif behaviour == "crashloop":
            cs.update(restartCount=3, state={"waiting": {"reason": "CrashLoopBackOff", "message":
                      f"back-off 40s restarting failed container={cs['name']} pod={pod['metadata']['name']}"}},
                      lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now()}})
            logs[(*logs_key, False)] = [f"starting {image}", "connecting to database"]
            logs[(*logs_key, True)] = [f"starting {image}", "panic: ARTEMIS_DB_URL is not set", "exit status 1"]
            if first:
                self.event(pod, "BackOff", "Back-off restarting failed container", "Warning", "kubelet")
        elif behaviour == "oom":
            cs.update(restartCount=1, state={"waiting": {"reason": "CrashLoopBackOff"}},
                      lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": now()}})
            logs[(*logs_key, True)] = [f"starting {image}", "loading cache into memory"]
        elif behaviour == "imagepull":
            reason = "ErrImagePull" if first else "ImagePullBackOff"
            cs.update(state={"waiting": {"reason": reason, "message": f'Back-off pulling image "{image}"'}})
            if first:
                self.event(pod, "Failed", f'Failed to pull image "{image}": not found', "Warning", "kubelet")
        elif behaviour == "configerror":
            cs.update(state={"waiting": {"reason": "CreateContainerConfigError",
                                         "message": 'secret "artemis-secrets" not found'}})
            if first:
                self.event(pod, "Failed", 'Error: secret "artemis-secrets" not found', "Warning", "kubelet")
        elif behaviour == "restarts":
            cs.update(restartCount=age - self.start_ticks + 1, started=True, state={"running": {"startedAt": now()}},
                      lastState={"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": now()}})
            logs[(*logs_key, True)] = [f"starting {image}", "liveness probe failed: killed"]
