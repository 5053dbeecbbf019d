"""In-cluster Locust workers: the same run as :class:`~pytest_artemis.load.runner.LoadRunner`, its processes pods.

:class:`ClusterLoadRunner` renders ``manifests/loadgen`` (a master Job, an Indexed Job of N workers, the
master's Service and a NetworkPolicy), sets the image, the worker count and the run's deadline, adds the run's
spec (ConfigMap ``artemis-loadgen-spec``) and the target URL (Secret ``artemis-loadgen-target``: credentials
never sit in a ConfigMap), applies them server-side into the namespace and hands the runner's supervision
loop one :class:`PodProcess` per role: alive while its pod runs, its exit code from the container's
terminated state, its sample lines read from the pod's log (:class:`PodLogTail`, mirrored into the run
directory). A pod that cannot start (image pull, missing config, crash loop) fails the run at once with the
reason; a worker pod that dies is a lost worker, exactly as a local worker process that dies. Every object is
deleted when the run ends, also on error. No pytest imports here.
"""

from __future__ import annotations

import base64
import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from pytest_artemis.checks.manifests.engine import load_source
from pytest_artemis.clients.kube import KubeClient
from pytest_artemis.errors import ClusterError, LoadError
from pytest_artemis.load.runner import LoadRunner, RunOptions
from pytest_artemis.load.tails import LogTail, json_lines
from pytest_artemis.rollout.deployment import fail_fast_reason, object_meta

__all__ = ["MASTER", "MASTER_PORT", "WORKERS", "ClusterLoadRunner", "PodLogTail", "PodProcess"]

MASTER, WORKERS = "artemis-loadgen-master", "artemis-loadgen-workers"
SPEC, TARGET_SECRET = "artemis-loadgen-spec", "artemis-loadgen-target"
MASTER_PORT = 5557
CONTAINER = "locust"
INDEX = "batch.kubernetes.io/job-completion-index"


class PodProcess:
    """One role's pod, as the runner's supervision sees a child process (alive, exit code, signal, log)."""

    def __init__(self, kube: KubeClient, namespace: str, role: str, selector: str, log_path: Path) -> None:
        self.kube, self.namespace, self.role, self.selector = kube, namespace, role, selector
        self.name = f"Locust {role} pod"
        self.log_path = log_path
        self.pid: int | None = None
        self._pod: k8s.V1Pod | None = None
        self._read_at = 0.0
        self._deleted = False  # we deleted it (how a pod is signalled)
        self._gone = False  # it existed and no longer does

    def pod(self, fresh: bool = False) -> k8s.V1Pod | None:
        if fresh or time.monotonic() - self._read_at > 0.5:
            self._read_at = time.monotonic()
            try:
                pods = self.kube.pods(self.namespace, self.selector)
            except ClusterError:
                return self._pod
            if pods:
                self._pod = pods[0]
            elif self._pod is not None:  # it was there and is gone: deleted (by us, or by someone: lost)
                self._pod, self._gone = None, True
        return self._pod

    @property
    def pod_name(self) -> str:
        pod = self.pod()
        return str(object_meta(pod).name) if pod is not None else ""

    def _terminated(self) -> k8s.V1ContainerStateTerminated | None:
        pod = self.pod()
        for cs in (pod.status.container_statuses or []) if pod is not None and pod.status else []:
            if cs.name == CONTAINER and cs.state is not None and cs.state.terminated is not None:
                return cs.state.terminated
        return None

    @property
    def returncode(self) -> int | None:
        terminated = self._terminated()
        if terminated is not None:
            return int(terminated.exit_code)
        pod = self.pod()
        if pod is None and self._gone:
            return -signal.SIGTERM if self._deleted else -signal.SIGKILL
        if pod is not None and pod.status is not None and pod.status.phase in ("Succeeded", "Failed"):
            return 0 if pod.status.phase == "Succeeded" else 1
        return None

    @property
    def alive(self) -> bool:
        return self.returncode is None

    def signal(self, sig: int) -> None:
        """SIGTERM is what deleting the pod sends (there is no other way to signal a pod through the API)."""
        name = self.pod_name
        if name and not self._deleted:
            self._deleted = True
            try:
                self.kube.delete("v1", "Pod", name, self.namespace)
            except ClusterError:
                pass

    def stop(self, timeout: float | None = None) -> int | None:
        return self.returncode

    def log_tail(self, lines: int = 20) -> str:
        name = self.pod_name
        if not name:
            return "(no pod)"
        try:
            return self.kube.pod_logs(name, self.namespace, container=CONTAINER, tail=lines)
        except ClusterError as err:
            return f"(no log: {err})"

    def diagnosis(self) -> str:
        pod = self.pod(fresh=True)
        if pod is None:
            return f"{self.role}: no pod matches {self.selector}"
        found = fail_fast_reason([pod], restart_limit=0)
        phase = pod.status.phase if pod.status else "unknown"
        return f"{self.role} pod {object_meta(pod).name}: {phase}" + (f", {found[0]}: {found[3]}" if found else "")


def _stamp(line: str) -> tuple[tuple[int, int], str] | None:
    """``2026-12-01T22:00:00.123456789Z text`` (a log line with ``timestamps=true``) as ((seconds, ns), text)."""
    stamp, sep, text = line.partition(" ")
    try:
        whole, _, fraction = stamp.removesuffix("Z").partition(".")
        seconds = int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp())
        nanos = int((fraction + "000000000")[:9]) if fraction else 0
    except ValueError:
        return None
    return ((seconds, nanos), text) if sep else None


class PodLogTail(LogTail):
    """The JSON lines a pod's log gained since the last read (read at most every ``every`` s).

    Each read asks only for what came since the last line seen (``sinceTime`` with ``timestamps=true``; the
    API counts whole seconds, so the lines of that second already seen are skipped by their time and text):
    an hour-long run costs the API server what its last second wrote, not the whole log each time.
    """

    def __init__(self, process: PodProcess, every: float = 1.0) -> None:
        self.process, self.every = process, every
        self.last: tuple[int, int] = (0, 0)
        self.seen_at_last: set[str] = set()
        self._at = 0.0

    def read(self, fresh: bool = False) -> list[dict[str, Any]]:
        if not fresh and time.monotonic() - self._at < self.every:
            return []
        self._at = time.monotonic()
        name = self.process.pod_name
        if not name:
            return []
        since = datetime.fromtimestamp(self.last[0], UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if self.last[0] else None
        try:
            text = self.process.kube.pod_logs(name, self.process.namespace, container=CONTAINER, tail=None,
                                              timestamps=True, since=since)
        except ClusterError:
            return []
        new = []
        for line in str(text).split("\n")[:-1]:  # the last one may still be written
            stamped = _stamp(line)
            if stamped is None:
                continue
            at, body = stamped
            if at < self.last or (at == self.last and body in self.seen_at_last):
                continue
            if at > self.last:
                self.last, self.seen_at_last = at, set()
            self.seen_at_last.add(body)
            new.append(body)
        with self.process.log_path.open("a", encoding="utf-8") as mirror:
            mirror.writelines(line + "\n" for line in new)
        return json_lines(new)


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"])


class ClusterLoadRunner(LoadRunner):
    """Runs plans with the master and the workers as pods in ``namespace`` (``plan.workers`` >= 1)."""

    def __init__(self, kube: KubeClient, namespace: str, manifests: Path, image: str | None = None,
                 start_seconds: float = 120.0, port: int = MASTER_PORT, target: str | None = None) -> None:
        """``target``: the URL the pods send to, when it is not the run's (which this machine checks)."""
        super().__init__()
        self.kube, self.namespace, self.manifests, self.image = kube, namespace, manifests, image
        self.port, self.target = port, target
        self.start_seconds = start_seconds
        self._applied: list[dict[str, Any]] = []

    def objects(self, spec: dict[str, Any], options: RunOptions, workers: int) -> list[dict[str, Any]]:
        """The rendered loadgen kit for this run: image, worker count, deadline, spec and target added."""
        if not (self.manifests / "kustomization.yaml").is_file():
            raise LoadError(f"in-cluster workers need the loadgen manifests: {self.manifests}/kustomization.yaml "
                            "not found (--artemis-loadgen-manifests)")
        rendered = [dict(obj.doc) for obj in load_source(self.manifests / "kustomization.yaml", self.manifests)]
        deadline = int(float(spec["max_seconds"]) + float(spec["worker_wait"]) + 60)
        for obj in rendered:
            self._port(obj)
            if obj.get("kind") != "Job":
                continue
            obj["spec"]["activeDeadlineSeconds"] = deadline
            if obj["metadata"]["name"] == WORKERS:
                obj["spec"]["completions"] = obj["spec"]["parallelism"] = workers
            for container in _containers(obj):
                if self.image:
                    container["image"] = self.image
        names = {(o.get("kind"), o["metadata"]["name"]) for o in rendered}
        missing = {("Job", MASTER), ("Job", WORKERS), ("Service", MASTER)} - names
        if missing:
            raise LoadError(f"{self.manifests}: the loadgen kit lacks " + ", ".join(f"{k}/{n}" for k, n in sorted(missing)))
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": TARGET_SECRET}, "type": "Opaque",
                  "data": {"url": base64.b64encode((self.target or options.target).encode()).decode()}}
        config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": SPEC},
                  "data": {"spec.json": json.dumps(spec, indent=1)}}
        return [config, secret, *rendered]

    def _port(self, obj: dict[str, Any]) -> None:
        """The master's port where the kit names it: the Service, the container port, the NetworkPolicy."""
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind == "Service" and obj["metadata"]["name"] == MASTER:
            for port in spec.get("ports", []):
                port["port"] = self.port
        elif kind == "Job" and obj["metadata"]["name"] == MASTER:
            for container in _containers(obj):
                for port in container.get("ports", []):
                    port["containerPort"] = self.port
        elif kind == "NetworkPolicy" and obj["metadata"]["name"] == "artemis-loadgen":
            for rule in spec.get("ingress", []):
                for port in rule.get("ports", []):
                    port["port"] = self.port

    def launch(self, spec: dict[str, Any], roles: list[str], options: RunOptions) -> tuple[list[Any], dict[str, LogTail]]:
        spec.update(master_port=self.port, master_bind="0.0.0.0",
                    worker_wait=float(spec.get("worker_wait") or 20) + self.start_seconds)
        if options.locustfile:
            raise LoadError("in-cluster workers run the built-in user mix; a --artemis-locustfile would have to be in "
                            "the loadgen image (not supported yet)")
        workers = len(roles) - 1
        objects = self.objects(spec, options, workers)
        try:
            self._applied = self.kube.apply(objects, self.namespace)
        except ClusterError as err:
            raise LoadError(f"cannot deploy the in-cluster load generators into namespace {self.namespace}: "
                            f"{err}") from None
        selectors = {"master": f"job-name={MASTER}"}
        selectors.update({f"worker-{i + 1}": f"job-name={WORKERS},{INDEX}={i}" for i in range(workers)})
        processes = [PodProcess(self.kube, self.namespace, role, selectors[role],
                                options.run_dir / f"locust-{role}.log") for role in roles]
        self._wait_started(processes)
        return processes, {p.role: PodLogTail(p) for p in processes}

    def _wait_started(self, processes: list[PodProcess]) -> None:
        """Until every pod runs (or has run); a pod that cannot start fails the run with its reason."""
        deadline = time.monotonic() + self.start_seconds
        while True:
            waiting = []
            for process in processes:
                pod = process.pod(fresh=True)
                if pod is None:
                    waiting.append(f"{process.role}: no pod yet")
                    continue
                found = fail_fast_reason([pod], restart_limit=0)
                if found is not None:
                    raise LoadError(f"in-cluster Locust {process.role} pod {found[1]} cannot run: {found[0]}: "
                                    f"{found[3]}")
                if pod.status is None or pod.status.phase == "Pending":
                    waiting.append(process.diagnosis())
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise LoadError(f"the in-cluster Locust pods did not start within {self.start_seconds:g} s: "
                                + "; ".join(waiting))
            time.sleep(0.2)

    def cleanup(self) -> None:
        """Delete every object of the run (the Jobs with their pods)."""
        for obj in reversed(self._applied):
            try:
                self.kube.delete(str(obj.get("apiVersion")), str(obj.get("kind")),
                                 str((obj.get("metadata") or {}).get("name")), self.namespace)
            except ClusterError:
                continue
        self._applied = []

