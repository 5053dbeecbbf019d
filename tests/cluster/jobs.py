"""The emulated cluster's Job controller, garbage collector and a kubelet that runs pods' commands for real.

:class:`JobController` creates a Job's pods as the real one does: one pod, or for ``completionMode: Indexed``
one per index with the ``batch.kubernetes.io/job-completion-index`` label and annotation and the
``JOB_COMPLETION_INDEX`` variable; no retries beyond ``backoffLimit`` 0; ``activeDeadlineSeconds`` ends it
(``DeadlineExceeded``); status counts and the ``Complete``/``Failed`` conditions follow the pods.
:class:`CommandPods` runs such a pod's first container as a local process: its ``command``/``args`` with
``$(VAR)`` expanded (``python`` is this interpreter, as the image's), its ``env`` (``value``, Secret and
ConfigMap keys, ``fieldRef`` to the pod's name and annotations), ConfigMap and emptyDir volumes as
directories under the pod's root (arguments under a mount path rewritten to them), and the cluster DNS as
far as pods use it here: a variable naming a Service of the namespace resolves to 127.0.0.1 (every "pod"
shares the loopback network). Its output is the container log; its exit code the terminated state. A pod
deleted (through the API or by the garbage collector when its Job is gone) gets SIGTERM.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubeapi import ApiError, Store, now

from pytest_artemis.errors import ServiceError
from pytest_artemis.services.processes import ManagedProcess

INDEX = "batch.kubernetes.io/job-completion-index"
#: ``event(object, reason, message, type, component)``: the controller's event recorder.
Event = Callable[[dict[str, Any], str, str, str, str], None]


class CommandPods:
    """Pods whose containers run as local processes."""

    def __init__(self, store: Store, root: Path, event: Event) -> None:
        self.store, self.root, self.event = store, root, event
        self.running: dict[str, tuple[ManagedProcess, str, str, str]] = {}  # uid -> (process, ns, pod, container)
        self.started_at: dict[str, str] = {}
        self.failed: set[str] = set()
        self.offsets: dict[str, int] = {}  # uid -> bytes of its log already stamped

    def _env(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
        ns, meta = pod["metadata"]["namespace"], pod["metadata"]
        services = {o["metadata"]["name"] for o in self.store.items("v1", "services", ns)}
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", "HOME": str(self.root)}
        for item in container.get("env", []):
            source = item.get("valueFrom") or {}
            if "value" in item:
                value = str(item["value"])
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                data = self.store.get(("v1", "secrets", ns, ref["name"])).get("data", {})
                value = base64.b64decode(data[ref["key"]]).decode()
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                value = self.store.get(("v1", "configmaps", ns, ref["name"]))["data"][ref["key"]]
            elif "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                found = re.fullmatch(r"metadata\.annotations\['(.+)'\]", path)
                value = meta["name"] if path == "metadata.name" else \
                    (meta.get("annotations") or {}).get(found.group(1), "") if found else ""
            else:
                continue
            env[item["name"]] = "127.0.0.1" if value.split(".")[0] in services and "/" not in value else value
        return env

    def _volumes(self, pod: dict[str, Any], container: dict[str, Any], base: Path) -> dict[str, Path]:
        ns = pod["metadata"]["namespace"]
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts", []):
            local = base / "fs" / mount["mountPath"].strip("/")
            local.mkdir(parents=True, exist_ok=True)
            volume = volumes.get(mount["name"], {})
            if "configMap" in volume:
                data = self.store.get(("v1", "configmaps", ns, volume["configMap"]["name"])).get("data", {})
                for key, text in data.items():
                    (local / key).write_text(text, encoding="utf-8")
            mounts[mount["mountPath"].rstrip("/")] = local
        return mounts

    def start(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        container = pod["spec"]["containers"][0]
        base = self.root / meta["uid"]
        base.mkdir(parents=True, exist_ok=True)
        env = self._env(pod, container)
        mounts = self._volumes(pod, container, base)
        argv = [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), str(a))
                for a in [*container.get("command", []), *container.get("args", [])]]
        for i, arg in enumerate(argv):
            for path, local in mounts.items():
                if arg == path or arg.startswith(path + "/"):
                    argv[i] = str(local) + arg[len(path):]
        if argv and argv[0] in ("python", "python3"):  # after the mounts: this interpreter may live under /tmp
            argv[0] = sys.executable
        process = ManagedProcess(f"pod {meta['name']}", argv, log_path=base / "container.log", env=env, cwd=base,
                                 stop_timeout=float(pod["spec"].get("terminationGracePeriodSeconds", 5)))
        process.start()
        self.running[meta["uid"]] = (process, meta["namespace"], meta["name"], container["name"])
        self.started_at[meta["uid"]] = now()

    def kubelet(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        if meta["uid"] not in self.running:
            try:
                self.start(pod)
            except (ApiError, KeyError, ServiceError) as err:  # a Secret, ConfigMap or key is missing; no command
                reason = err.message if isinstance(err, ApiError) else f"key {err} not found" \
                    if isinstance(err, KeyError) else str(err)
                if meta["uid"] not in self.failed:
                    self.failed.add(meta["uid"])
                    self.event(pod, "Failed", f"Error: {reason}", "Warning", "kubelet")
                self.store.set_status(("v1", "pods", meta["namespace"], meta["name"]), {
                    "phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
                    "containerStatuses": [{"name": pod["spec"]["containers"][0]["name"], "ready": False,
                                           "restartCount": 0, "image": pod["spec"]["containers"][0].get("image", ""),
                                           "imageID": "", "state": {"waiting": {
                                               "reason": "CreateContainerError" if isinstance(err, ServiceError)
                                               else "CreateContainerConfigError", "message": reason}}}]})
                return
        process, ns, name, container = self.running[meta["uid"]]
        with process.log_path.open("rb") as fh:  # the lines written since the last tick, stamped as a kubelet does
            fh.seek(self.offsets.get(meta["uid"], 0))
            text = fh.read()
        complete = text[: text.rfind(b"\n") + 1]
        self.offsets[meta["uid"]] = self.offsets.get(meta["uid"], 0) + len(complete)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
        self.store.logs.setdefault((ns, name, container, False), []).extend(
            (stamp, line) for line in complete.decode("utf-8", "replace").splitlines())
        code = process.returncode
        image = pod["spec"]["containers"][0].get("image", "")
        cs: dict[str, Any] = {"name": container, "image": image, "imageID": f"docker-pullable://{image}",
                              "restartCount": 0, "lastState": {}, "started": code is None, "ready": code is None}
        if code is None:
            cs["state"] = {"running": {"startedAt": self.started_at[meta["uid"]]}}
            phase = "Running"
        else:
            cs["state"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                          "startedAt": self.started_at[meta["uid"]], "finishedAt": now()}}
            phase = "Succeeded" if code == 0 else "Failed"
        ready = "True" if code is None else "False"
        self.store.set_status(("v1", "pods", ns, name), {
            "phase": phase, "podIP": "127.0.0.1", "startTime": meta["creationTimestamp"], "containerStatuses": [cs],
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": ready},
                           {"type": "ContainersReady", "status": ready}]})

    def collect(self, live: set[str]) -> None:
        """SIGTERM the processes of pods that are gone."""
        for uid in [u for u in self.running if u not in live]:
            process = self.running.pop(uid)[0]
            process.signal(15)

    def close(self) -> None:
        for process, *_ in self.running.values():
            process.stop(5)
        self.running.clear()


class JobController:
    """Jobs' pods, status and deadline; the garbage collector of pods whose owner is gone."""

    def __init__(self, store: Store, event: Event) -> None:
        self.store, self.event = store, event
        self._ids = itertools.count(1)
        self._started: dict[str, float] = {}

    def _pods(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        uid = job["metadata"]["uid"]
        return [p for p in self.store.items("v1", "pods", job["metadata"]["namespace"])
                if any(r["uid"] == uid for r in p["metadata"].get("ownerReferences", []))]

    def reconcile(self, job: dict[str, Any]) -> None:
        meta, spec = job["metadata"], job["spec"]
        if any(c["type"] in ("Complete", "Failed") and c["status"] == "True"
               for c in job.get("status", {}).get("conditions", [])):
            return
        started = self._started.setdefault(meta["uid"], time.monotonic())
        pods = self._pods(job)
        if not pods and not job.get("status", {}).get("startTime"):
            indexed = spec.get("completionMode") == "Indexed"
            for index in range(int(spec.get("completions", 1)) if indexed else 1):
                self._create(job, index if indexed else None)
            pods = self._pods(job)
        phases = [p.get("status", {}).get("phase", "Pending") for p in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        conditions = []
        deadline = spec.get("activeDeadlineSeconds")
        if failed > int(spec.get("backoffLimit", 6)):
            conditions.append({"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                               "message": "Job has reached the specified backoff limit"})
        elif succeeded >= int(spec.get("completions", 1)):
            conditions.append({"type": "Complete", "status": "True"})
        elif deadline is not None and time.monotonic() - started > float(deadline):
            conditions.append({"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                               "message": "Job was active longer than specified deadline"})
            for pod in pods:
                self.store.delete(("v1", "pods", meta["namespace"], pod["metadata"]["name"]))
        self.store.set_status(("batch/v1", "jobs", meta["namespace"], meta["name"]), {
            "startTime": job.get("status", {}).get("startTime") or now(), "active": len(pods) - succeeded - failed,
            "succeeded": succeeded, "failed": failed, "conditions": conditions})

    def _create(self, job: dict[str, Any], index: int | None) -> None:
        meta, template = job["metadata"], job["spec"]["template"]
        labels = {**(template.get("metadata", {}).get("labels") or {}), "job-name": meta["name"],
                  "batch.kubernetes.io/job-name": meta["name"], "controller-uid": meta["uid"]}
        annotations = dict(template.get("metadata", {}).get("annotations") or {})
        spec = {**template["spec"], "containers": [dict(c) for c in template["spec"]["containers"]]}
        if index is not None:
            labels[INDEX] = annotations[INDEX] = str(index)
            for container in spec["containers"]:
                container["env"] = [*container.get("env", []), {"name": "JOB_COMPLETION_INDEX", "valueFrom": {
                    "fieldRef": {"fieldPath": f"metadata.annotations['{INDEX}']"}}}]
        name = f"{meta['name']}-{'' if index is None else f'{index}-'}{next(self._ids):05x}"
        self.event(job, "SuccessfulCreate", f"Created pod: {name}", "Normal", "job-controller")
        self.store.create(("v1", "pods", meta["namespace"], name), {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": labels, "annotations": annotations, "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": meta["uid"],
                "controller": True, "blockOwnerDeletion": True}]},
            "spec": spec, "status": {"phase": "Pending"}})

    def collect_garbage(self) -> None:
        """Delete pods whose owner no longer exists (background propagation)."""
        uids = {o["metadata"]["uid"] for o in self.store.objects.values()}
        for key, obj in list(self.store.objects.items()):
            refs = obj["metadata"].get("ownerReferences", [])
            if key[1] == "pods" and refs and not any(r["uid"] in uids for r in refs):
                self.store.delete(key)
