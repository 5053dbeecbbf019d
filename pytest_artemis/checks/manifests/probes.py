"""Health-probe checks: probes present, distinct, on an exposed port, and with timings that fit together.

Probes apply to long-running workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod), not to
Jobs; only regular containers are probed (init containers run to completion).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import ManifestObject
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["describe_probe"]

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
_HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")


def _probe(container: dict[str, Any], key: str) -> dict[str, Any] | None:
    probe = container.get(key)
    return probe if isinstance(probe, dict) else None


def _int(probe: dict[str, Any], key: str, default: int) -> int:
    value = probe.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def describe_probe(probe: dict[str, Any]) -> str:
    """A short human description of a probe's handler ("GET /health on http")."""
    if isinstance(probe.get("httpGet"), dict):
        http = probe["httpGet"]
        return f"GET {http.get('path', '/')} on {http.get('port')}"
    if isinstance(probe.get("tcpSocket"), dict):
        return f"TCP {probe['tcpSocket'].get('port')}"
    if isinstance(probe.get("grpc"), dict):
        return f"gRPC {probe['grpc'].get('port')}"
    if isinstance(probe.get("exec"), dict):
        return "exec " + " ".join(str(a) for a in probe["exec"].get("command") or ())
    return "no handler"


def _missing(obj: ManifestObject, check_id: str, key: str, why: str) -> Iterator[Finding]:
    for container in obj.containers(init=False):
        if _probe(container, key) is None:
            yield obj.finding(check_id, f"{key} missing: {why}", container=str(container.get("name", "")))


@check("probe-readiness-missing", area="manifests", target="serving workload", severity="critical",
       fix="add a readinessProbe (httpGet on the readiness endpoint, e.g. /health/ready)",
       why="Without a readinessProbe the kubelet reports the container ready as soon as it starts, so the "
           "Service sends requests to pods still booting and to pods that can no longer serve, and a rollout "
           "removes old pods before the new ones answer.")
def readiness_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container has no readinessProbe: it gets traffic before it can serve and while it cannot."""
    yield from _missing(obj, "probe-readiness-missing", "readinessProbe",
                        "the Service sends traffic before the app can serve and while it cannot")


@check("probe-liveness-missing", area="manifests", target="serving workload", severity="warning",
       fix="add a livenessProbe (httpGet on a cheap endpoint that checks only the process, e.g. /health/live)",
       why="Without a livenessProbe the kubelet restarts a container only when its process exits: a deadlocked "
           "or wedged process keeps running (out of rotation, if readiness fails) until someone deletes the "
           "pod.")
def liveness_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container has no livenessProbe: a hung process is never restarted."""
    yield from _missing(obj, "probe-liveness-missing", "livenessProbe", "a hung process is never restarted")


@check("probe-startup-missing", area="manifests", target="serving workload", severity="info",
       fix="add a startupProbe (e.g. GET /health, failureThreshold x periodSeconds >= the slowest boot)",
       why="A startupProbe holds off liveness and readiness until the app has booted, so a slow start is not "
           "killed by a guessed initialDelaySeconds; an app that boots fast does not need one, hence info.")
def startup_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container has no startupProbe: slow starts rely on liveness initialDelaySeconds guesses."""
    yield from _missing(obj, "probe-startup-missing", "startupProbe",
                        "slow starts depend on the livenessProbe's initialDelaySeconds")


@check("probes-identical", area="manifests", target="serving workload", severity="warning",
       fix="point liveness at a process-only endpoint (/health/live) and readiness at one that checks "
           "dependencies (/health/ready)",
       why="When liveness checks what readiness checks (dependencies included), a database or downstream outage "
           "fails both and the kubelet restarts every pod at once instead of taking them out of rotation; "
           "kube-score flags identical probes for the same reason.")
def probes_identical(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Liveness and readiness probes use the same handler: a dependency outage restarts every pod."""
    for container in obj.containers(init=False):
        liveness, readiness = _probe(container, "livenessProbe"), _probe(container, "readinessProbe")
        if liveness is None or readiness is None:
            continue
        if [liveness.get(h) for h in _HANDLERS] == [readiness.get(h) for h in _HANDLERS]:
            yield obj.finding("probes-identical",
                              f"livenessProbe and readinessProbe are identical ({describe_probe(liveness)}): "
                              "when a dependency fails, every pod is restarted instead of taken out of rotation",
                              container=str(container.get("name", "")))


def _probe_port(probe: dict[str, Any]) -> Any:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if isinstance(probe.get(handler), dict):
            return probe[handler].get("port")
    return None


@check("probe-port-not-exposed", area="manifests", target="serving workload", severity="critical",
       fix="probe a port the container declares under ports (by name, e.g. port: http)",
       why="The API accepts any port name, but the kubelet resolves a named probe port against the container's "
           "ports and the probe fails when it is not there: the pod never gets ready, or restarts in a loop. An "
           "undeclared number still reaches the container, so it is a warning.")
def probe_port_not_exposed(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """A probe targets a named port the container does not declare (or an undeclared port number)."""
    for container in obj.containers(init=False):
        ports = [p for p in container.get("ports") or () if isinstance(p, dict)]
        names = {str(p.get("name")) for p in ports if p.get("name")}
        numbers = {p.get("containerPort") for p in ports}
        listed = ", ".join(f"{p.get('name', '-')}={p.get('containerPort')}" for p in ports) or "none"
        name = str(container.get("name", ""))
        for key in PROBES:
            probe = _probe(container, key)
            port = _probe_port(probe) if probe else None
            if isinstance(port, bool) or not isinstance(port, (int, str)):
                continue  # absent or malformed: the schema check reports it
            if isinstance(port, str) and not port.isdigit():
                if port not in names:
                    yield obj.finding("probe-port-not-exposed",
                                      f"{key} port {port!r} is not a named port of the container (ports: {listed}): "
                                      "the probe always fails", container=name)
            elif int(port) not in numbers:
                yield obj.finding("probe-port-not-exposed",
                                  f"{key} port {port} is not among the container's ports ({listed})",
                                  container=name, severity="warning")


@check("probe-timing", area="manifests", target="serving workload", severity="warning",
       fix="keep timeoutSeconds < periodSeconds, liveness slower to fail than readiness, and add a startupProbe "
           "for slow boots",
       why="Each probe field is valid alone but they can contradict each other: a timeout at or above the "
           "period, a liveness probe that restarts after one failed answer, or one that fails before readiness "
           "has taken the pod out of rotation (or before a slow start is ready) turns a brief slowdown into "
           "restarts.")
def probe_timing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Probe timings that contradict each other (timeout >= period, liveness kills before readiness/startup)."""
    for container in obj.containers(init=False):
        name = str(container.get("name", ""))
        probes = {key: p for key in PROBES if (p := _probe(container, key)) is not None}
        for key, probe in probes.items():
            timeout, period = _int(probe, "timeoutSeconds", 1), _int(probe, "periodSeconds", 10)
            if timeout >= period:
                yield obj.finding("probe-timing", f"{key} timeoutSeconds {timeout} >= periodSeconds {period}: "
                                                  "a slow probe overlaps the next one", container=name)
        liveness, readiness = probes.get("livenessProbe"), probes.get("readinessProbe")
        if liveness is None:
            continue
        live_threshold = _int(liveness, "failureThreshold", 3)
        if live_threshold < 2:
            yield obj.finding("probe-timing", f"livenessProbe failureThreshold {live_threshold}: "
                                              "one slow answer restarts the container", container=name)
        if "startupProbe" not in probes and readiness is not None:
            live_delay = _int(liveness, "initialDelaySeconds", 0)
            ready_delay = _int(readiness, "initialDelaySeconds", 0)
            if live_delay < ready_delay:
                yield obj.finding("probe-timing",
                                  f"livenessProbe starts at {live_delay}s, before readiness ({ready_delay}s), and "
                                  "there is no startupProbe: a slow start is killed before it is ready",
                                  container=name)
        if readiness is not None:
            live_window = _int(liveness, "periodSeconds", 10) * live_threshold
            ready_window = _int(readiness, "periodSeconds", 10) * _int(readiness, "failureThreshold", 3)
            if live_window < ready_window:
                yield obj.finding("probe-timing",
                                  f"livenessProbe restarts after {live_window}s of failures, before readinessProbe "
                                  f"takes the pod out of rotation ({ready_window}s)", container=name)
