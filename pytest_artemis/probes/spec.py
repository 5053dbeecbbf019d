"""Probe specs from the manifests: what the kit's own Deployment promises about the target's health endpoints.

:func:`read_pod_probes` renders the gate paths with the manifest gate's loader (:func:`load_source`: plain YAML
files, or kustomize directories rendered by the real kustomize), picks the Deployment and the container that
serves the target, and returns a :class:`PodProbes`: the startup, liveness and readiness probes (handler, path,
port, ``timeoutSeconds``, ``periodSeconds``, ``failureThreshold``, ``initialDelaySeconds`` with Kubernetes'
defaults), ``terminationGracePeriodSeconds``, the preStop hook's sleep and the container's plain environment,
each with the file and line it is written on. A value that a kustomize patch changed says so next to its
line. No pytest imports here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_artemis.checks.manifests import loader
from pytest_artemis.checks.manifests.engine import is_kustomization, load_source
from pytest_artemis.checks.manifests.model import ManifestObject, label_selector_matches, mapping
from pytest_artemis.errors import ManifestError
from pytest_artemis.findings import display_path
from pytest_artemis.probes import locate

__all__ = ["DEFAULT_GRACE_SECONDS", "KINDS", "Location", "NoDeploymentError", "PodProbes", "ProbeSpec",
           "ProbeSpecError", "read_pod_probes"]

#: Probe kind -> the container field that declares it.
KINDS: dict[str, str] = {"startup": "startupProbe", "liveness": "livenessProbe", "readiness": "readinessProbe"}
#: Kubernetes' defaults for the probe fields a manifest leaves out.
PROBE_DEFAULTS: dict[str, int] = {"timeoutSeconds": 1, "periodSeconds": 10, "failureThreshold": 3,
                                  "successThreshold": 1, "initialDelaySeconds": 0}
DEFAULT_GRACE_SECONDS = 30
_HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")
_SLEEP = re.compile(r"(?:^|[;&|\s])sleep\s+(\d+(?:\.\d+)?)s?\s*(?:$|[;&|])")


class ProbeSpecError(ManifestError):
    """The manifests could not be read, or their Deployment cannot be checked (one line, file named)."""


class NoDeploymentError(ProbeSpecError):
    """No Deployment in the manifests read: nothing to check the target against."""


@dataclass(frozen=True)
class Location:
    """Where a value is written: file (relative to the rootdir) and 1-based line; ``note`` says more (patched)."""

    file: str
    line: int = 0
    note: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} ({self.note})" if self.note else where


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of the container as the kubelet runs it (defaults filled in)."""

    kind: str  # startup | liveness | readiness
    handler: str  # httpGet | tcpSocket | grpc | exec | none
    path: str = ""
    port: int | str | None = None  # as written (a number or a port name)
    port_number: int | None = None  # resolved against the container's ports
    scheme: str = "HTTP"
    timeout_seconds: int = 1
    period_seconds: int = 10
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_seconds: int = 0
    location: Location = field(default_factory=lambda: Location(""))

    @property
    def key(self) -> str:
        return KINDS[self.kind]

    @property
    def http(self) -> bool:
        return self.handler == "httpGet"

    @property
    def window_seconds(self) -> int:
        """How long the probe may fail before the kubelet acts: initialDelaySeconds + failureThreshold x period."""
        return self.initial_delay_seconds + self.failure_threshold * self.period_seconds

    def port_text(self) -> str:
        if isinstance(self.port, str) and self.port_number is not None and not self.port.isdigit():
            return f"{self.port} ({self.port_number})"
        return str(self.port if self.port is not None else "-")

    def describe(self) -> str:
        """``readinessProbe GET /health/ready on port http (8000)``."""
        if self.http:
            return f"{self.key} GET {self.path} on port {self.port_text()}"
        return f"{self.key} ({self.handler})"

    def label(self) -> str:
        """``readinessProbe GET /health/ready (manifests/base/deployment.yaml:146)``: what failures lead with."""
        what = f"GET {self.path}" if self.http else self.handler
        return f"{self.key} {what} ({self.location})"


@dataclass(frozen=True)
class PodProbes:
    """The probes and shutdown settings of the container serving the target, and where they are written."""

    workload: str  # Deployment/name
    container: str
    source: str  # what was read (a file, or the kustomization file of a render)
    location: Location  # of the container
    probes: Mapping[str, ProbeSpec]
    termination_grace_seconds: int = DEFAULT_GRACE_SECONDS
    grace_location: Location = field(default_factory=lambda: Location(""))
    pre_stop: str = ""  # the preStop handler in words ('' when none)
    pre_stop_sleep_seconds: float = 0.0
    pre_stop_location: Location | None = None
    serving_port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def probe(self, kind: str) -> ProbeSpec | None:
        return self.probes.get(kind)

    def describe(self) -> str:
        """``Deployment/artemis container api (manifests/base/deployment.yaml:85)``."""
        return f"{self.workload} container {self.container} ({self.location})"


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


def _ports(container: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [p for p in container.get("ports") or () if isinstance(p, dict)]


def _resolve_port(port: Any, container: Mapping[str, Any]) -> int | None:
    if isinstance(port, bool):
        return None
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for declared in _ports(container):
            if declared.get("name") == port and isinstance(declared.get("containerPort"), int):
                return int(declared["containerPort"])
    return None


class _Finder:
    """Lines inside the origin file of one rendered object, compared with the rendered values."""

    def __init__(self, obj: ManifestObject, rootdir: Path) -> None:
        path = Path(obj.file)
        self.file = obj.file
        self.line = obj.line
        self.patched_by = obj.source if obj.source != obj.file and is_kustomization(Path(obj.source)) else ""
        self.node = locate.document_node(path if path.is_absolute() else rootdir / path, obj.kind, obj.name, obj.line)

    def at(self, steps: Sequence[locate.Step], rendered: Any = None, *, compare: bool = True) -> Location:
        if self.node is None:
            return Location(self.file, self.line)
        line, value_node = locate.find(self.node, steps)
        if value_node is None:
            return Location(self.file, line, f"not in this file: set by {self.patched_by}" if self.patched_by
                            and rendered is not None else "")
        if compare and self.patched_by and locate.node_value(value_node) != rendered:
            return Location(self.file, line, f"changed by a patch of {self.patched_by}")
        return Location(self.file, line)


def _probe(kind: str, data: Any, container: Mapping[str, Any], where: Location) -> ProbeSpec:
    data = mapping(data)
    handler = next((h for h in _HANDLERS if isinstance(data.get(h), dict)), "none")
    action = mapping(data.get(handler))
    port = action.get("port")
    return ProbeSpec(
        kind=kind, handler=handler,
        path=str(action.get("path") or "/") if handler == "httpGet" else "",
        port=port if isinstance(port, (int, str)) and not isinstance(port, bool) else None,
        port_number=_resolve_port(port, container), scheme=str(action.get("scheme") or "HTTP"),
        **{name: _int(data, key, default) for key, default in PROBE_DEFAULTS.items()
           for name in [re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()]},
        location=where,
    )


def _pre_stop(container: Mapping[str, Any]) -> tuple[str, float]:
    """The preStop handler in words and the seconds it sleeps (0 when it does not)."""
    hook = mapping(mapping(container.get("lifecycle")).get("preStop"))
    if isinstance(hook.get("sleep"), dict):
        seconds = _number(hook["sleep"].get("seconds")) or 0.0
        return f"sleep {seconds:g} s", seconds
    if isinstance(hook.get("exec"), dict):
        command = " ".join(str(a) for a in hook["exec"].get("command") or ())
        match = _SLEEP.search(command)
        return f"exec {command}", float(match.group(1)) if match else 0.0
    if isinstance(hook.get("httpGet"), dict):
        return f"httpGet {hook['httpGet'].get('path', '/')}", 0.0
    return "", 0.0


def _env(container: Mapping[str, Any], objects: Sequence[ManifestObject], namespace: str) -> dict[str, str]:
    """Plain values of the container's environment: ``value`` entries and ConfigMaps of the same render."""
    config_maps = {o.name: mapping(o.doc.get("data")) for o in objects if o.kind == "ConfigMap"
                   and o.namespace == namespace}
    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        ref = mapping(mapping(source).get("configMapRef"))
        prefix = str(mapping(source).get("prefix") or "")
        env.update({prefix + str(k): str(v) for k, v in config_maps.get(str(ref.get("name")), {}).items()})
    for item in container.get("env") or ():
        item = mapping(item)
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if "value" in item:
            env[name] = str(item["value"])
            continue
        ref = mapping(mapping(item.get("valueFrom")).get("configMapKeyRef"))
        value = config_maps.get(str(ref.get("name")), {}).get(str(ref.get("key")))
        if value is not None:
            env[name] = str(value)
    return env


def _served_ports(target_port: int | None, obj: ManifestObject, objects: Sequence[ManifestObject]) -> set[int | str]:
    """Container ports (numbers or names) that traffic to ``target_port`` reaches: itself, and the targetPort of
    every Service port of that number (or nodePort) selecting the Deployment's pods."""
    if target_port is None:
        return set()
    wanted: set[int | str] = {target_port}
    for service in objects:
        selector = mapping(service.spec.get("selector"))
        if service.kind != "Service" or service.namespace != obj.namespace or not selector or \
                not label_selector_matches({"matchLabels": selector}, obj.pod_labels()):
            continue
        for port in service.spec.get("ports") or ():
            port = mapping(port)
            target = port.get("targetPort", port.get("port"))
            if target_port in (port.get("port"), port.get("nodePort")) and target is not None:
                wanted.add(target)
    return {str(w) if isinstance(w, str) and not w.isdigit() else int(w) for w in wanted if w is not None}


def _serves(container: Mapping[str, Any], served: set[int | str]) -> int | None:
    for port in _ports(container):
        if port.get("containerPort") in served or port.get("name") in served:
            number = port.get("containerPort")
            return number if isinstance(number, int) else None
    return None


def _http_probes(container: Mapping[str, Any]) -> int:
    return sum(1 for key in KINDS.values() if isinstance(mapping(container.get(key)).get("httpGet"), dict))


def _pick_container(obj: ManifestObject, objects: Sequence[ManifestObject], target_port: int | None
                    ) -> tuple[int, dict[str, Any], int | None, list[str]]:
    """(index, container, serving port, notes): the container serving ``target_port``, else the one with
    httpGet probes, else the first."""
    containers = list(obj.containers(init=False))
    if not containers:
        raise ProbeSpecError(f"{obj.ref} ({obj.file}:{obj.line}) has no containers: nothing serves the target")
    served = _served_ports(target_port, obj, objects)
    serving: list[tuple[int, dict[str, Any], int | None]] = [
        (i, c, port) for i, c in enumerate(containers) if (port := _serves(c, served)) is not None]
    notes: list[str] = []
    if len(containers) == 1 and not serving:
        serving = [(0, containers[0], None)]
    elif serving:
        if len(containers) > 1:
            notes.append(f"{len(containers)} containers: checked {serving[0][1].get('name')}, which serves "
                         f"port {target_port}")
    else:
        ranked = sorted(range(len(containers)), key=lambda i: -_http_probes(containers[i]))
        serving = [(ranked[0], containers[ranked[0]], None)]
        why = "the one with httpGet probes" if _http_probes(containers[ranked[0]]) else "the first"
        notes.append(f"{len(containers)} containers, none declares port {target_port}: checked "
                     f"{containers[ranked[0]].get('name')} ({why})" if target_port else
                     f"{len(containers)} containers: checked {containers[ranked[0]].get('name')} ({why})")
    index, container, port = serving[0]
    if port is None:
        ports = _ports(container)
        named = next((p for p in ports if p.get("name") == "http"), ports[0] if ports else {})
        port = named.get("containerPort") if isinstance(named.get("containerPort"), int) else None
    return index, container, port, notes


def _pick_deployment(deployments: Sequence[ManifestObject], source: str) -> tuple[ManifestObject, list[str]]:
    ranked = sorted(deployments, key=lambda o: -max((_http_probes(c) for c in o.containers(init=False)), default=0))
    notes = []
    if len(deployments) > 1:
        notes.append(f"{len(deployments)} Deployments in {source}: checked {ranked[0].ref} (name another with "
                     "the artemis_probe_deployment fixture)")
    return ranked[0], notes


def sources(paths: Sequence[Path]) -> Iterator[Path]:
    """What is read, in order: each path's kustomization files and plain YAML files (as the manifest gate)."""
    for path in paths:
        yield from loader.sources_under(path)


def read_pod_probes(paths: Sequence[Path], rootdir: Path, *, deployment: str | None = None,
                    target_port: int | None = None) -> PodProbes:
    """The probes of the first source under ``paths`` holding a Deployment (named ``deployment`` when given).

    Raises :class:`NoDeploymentError` when none holds one, :class:`ProbeSpecError` when a source cannot be
    read or the Deployment has no containers.
    """
    read: list[str] = []
    for source in sources(paths):
        display = display_path(source, rootdir)
        read.append(display)
        try:
            objects = load_source(source, rootdir)
        except loader.ManifestLoadError as err:
            raise ProbeSpecError(f"cannot read the probes: {err}") from err
        found = [o for o in objects if o.kind == "Deployment" and (deployment is None or o.name == deployment)]
        if found:
            return _pod_probes(found, objects, display, rootdir, target_port)
    shown = ", ".join(display_path(p, rootdir) for p in paths) or "no manifest paths"
    what = f"no Deployment named {deployment!r}" if deployment else "no Deployment"
    detail = f"read {', '.join(read)}" if read else "no manifest files there"
    raise NoDeploymentError(f"{what} in {shown} ({detail}): no probe spec to check the target against; "
                            "name the manifests with --artemis-manifests PATH")


def _pod_probes(deployments: Sequence[ManifestObject], objects: Sequence[ManifestObject], source: str,
                rootdir: Path, target_port: int | None) -> PodProbes:
    obj, notes = _pick_deployment(deployments, source)
    index, container, port, more = _pick_container(obj, objects, target_port)
    notes += more
    finder = _Finder(obj, rootdir)
    name = str(container.get("name") or f"#{index}")
    pod = ["spec", "template", "spec"]
    where: list[locate.Step] = [*pod, "containers", ("name", name)] if container.get("name") else [*pod, "containers"]
    probes = {kind: _probe(kind, container[key], container, finder.at([*where, key], container[key]))
              for kind, key in KINDS.items() if isinstance(container.get(key), dict)}
    grace = obj.pod_spec().get("terminationGracePeriodSeconds")
    grace_given = isinstance(grace, int) and not isinstance(grace, bool) and grace >= 0
    grace_at = finder.at([*pod, "terminationGracePeriodSeconds"], grace) if grace_given else \
        Location(obj.file, obj.line, f"terminationGracePeriodSeconds not set: the default {DEFAULT_GRACE_SECONDS} s")
    pre_stop, sleep = _pre_stop(container)
    hook = mapping(mapping(container.get("lifecycle")).get("preStop"))
    return PodProbes(
        workload=obj.ref, container=name, source=source, location=finder.at(where, compare=False), probes=probes,
        termination_grace_seconds=int(grace) if grace_given else DEFAULT_GRACE_SECONDS,  # type: ignore[arg-type]
        grace_location=grace_at, pre_stop=pre_stop, pre_stop_sleep_seconds=sleep,
        pre_stop_location=finder.at([*where, "lifecycle", "preStop"], hook) if hook else None,
        serving_port=port, env=_env(container, objects, obj.namespace), notes=tuple(notes))
