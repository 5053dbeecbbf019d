"""A Kubernetes API client on the official ``kubernetes`` package, raising the project's own errors (no pytest).

* :meth:`KubeClient.from_kubeconfig` / :meth:`KubeClient.in_cluster` - the client of ``--artemis-kubeconfig`` and
  ``--artemis-context``, or of the pod the session runs in; :meth:`KubeClient.server_version`.
* :meth:`KubeClient.create_namespace` / :meth:`KubeClient.delete_namespace` - the session's namespace.
* :meth:`KubeClient.apply` - server-side apply (``application/apply-patch+yaml`` with a field manager) of
  rendered objects into a namespace; returns the objects as the server stored them.
* :meth:`KubeClient.deployment`, :meth:`KubeClient.replicasets`, :meth:`KubeClient.pods`,
  :meth:`KubeClient.events`, :meth:`KubeClient.pod_logs` - typed reads (the client validates every answer).
* Rollouts (``wait``, ``update``, ``undo``, ``history``) are in :mod:`pytest_artemis.rollout.deployment`.

Every vendor error becomes a :class:`ClusterError` with one line naming the request and the server's reason,
raised ``from None``: 404 is :class:`NotFoundError`, 409 :class:`ConflictError`, an unreachable server
:class:`ClusterUnavailableError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from pytest_artemis.errors import ClusterError, ClusterUnavailableError, ConflictError, NotFoundError
from pytest_artemis.redact import redact_url

__all__ = ["FIELD_MANAGER", "KINDS", "MANAGED_BY", "Event", "KubeClient", "cluster_configured", "resource_path"]

FIELD_MANAGER = "pytest-artemis"
#: The label every namespace the plugin creates carries.
MANAGED_BY = {"app.kubernetes.io/managed-by": "pytest-artemis"}

#: Kinds the apply knows: kind -> (plural, namespaced). The API group and version come from the object.
KINDS: dict[str, tuple[str, bool]] = {
    "Namespace": ("namespaces", False), "ConfigMap": ("configmaps", True), "Secret": ("secrets", True),
    "Service": ("services", True), "ServiceAccount": ("serviceaccounts", True), "Pod": ("pods", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True), "Deployment": ("deployments", True),
    "StatefulSet": ("statefulsets", True), "DaemonSet": ("daemonsets", True), "ReplicaSet": ("replicasets", True),
    "Job": ("jobs", True), "CronJob": ("cronjobs", True), "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True), "NetworkPolicy": ("networkpolicies", True),
    "Ingress": ("ingresses", True), "Role": ("roles", True), "RoleBinding": ("rolebindings", True),
    "ClusterRole": ("clusterroles", False), "ClusterRoleBinding": ("clusterrolebindings", False),
}


def cluster_configured(kubeconfig: Path | None, context: str | None) -> bool:
    """A cluster is configured: a kubeconfig or a context was given, or the session runs inside a pod."""
    return kubeconfig is not None or context is not None or bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def resource_path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
    """The REST path of a kind (``/apis/apps/v1/namespaces/NS/deployments/NAME``)."""
    if kind not in KINDS:
        raise ClusterError(f"kind {kind} ({api_version}) is not one pytest-artemis applies; known: "
                           + ", ".join(sorted(KINDS)))
    plural, namespaced = KINDS[kind]
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{plural}" if namespaced and namespace else f"{base}/{plural}"
    return f"{path}/{name}" if name else path


@dataclass(frozen=True)
class Event:
    """One namespace event, as ``kubectl get events`` shows it."""

    time: str
    type: str
    reason: str
    object: str
    message: str
    count: int = 1

    def line(self) -> str:
        repeat = f" (x{self.count})" if self.count > 1 else ""
        return f"{self.time} {self.type} {self.reason} {self.object}: {self.message}{repeat}"


def _status_message(err: ApiException) -> str:
    try:
        body = json.loads(err.body or "")
        return str(body.get("message") or body.get("reason") or err.reason)
    except (ValueError, AttributeError):
        return str(err.reason or err.body or "")[:200]


class KubeClient:
    """Talks to one Kubernetes API server."""

    def __init__(self, api_client: k8s.ApiClient, *, source: str, timeout: float = 15.0) -> None:
        self.api = api_client
        self.source = source
        self.timeout = timeout
        self.version: str | None = None  # the server's gitVersion, once server_version() has asked

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path | None = None, context: str | None = None,
                        timeout: float = 15.0) -> KubeClient:
        """The client of a kubeconfig file (default: ``$KUBECONFIG`` or ``~/.kube/config``) and context."""
        configuration = k8s.Configuration()
        try:
            k8s_config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context,
                                        client_configuration=configuration)
        except (ConfigException, OSError, ValueError) as err:
            where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            raise ClusterUnavailableError(f"kubeconfig {where}" + (f" context {context}" if context else "")
                                          + f" cannot be used: {err}") from None
        configuration.retries = 0
        source = f"kubeconfig {kubeconfig or '(default)'}" + (f" context {context}" if context else "")
        return cls(k8s.ApiClient(configuration), source=source, timeout=timeout)

    @classmethod
    def in_cluster(cls, timeout: float = 15.0) -> KubeClient:
        """The client of the service account of the pod this process runs in."""
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as err:
            raise ClusterUnavailableError(f"in-cluster configuration cannot be used: {err}") from None
        configuration.retries = 0
        return cls(k8s.ApiClient(configuration), source="in-cluster service account", timeout=timeout)

    @property
    def host(self) -> str:
        return redact_url(str(self.api.configuration.host))

    def __repr__(self) -> str:
        return f"KubeClient({self.host!r})"

    # ------------------------------------------------------------------ transport

    def call(self, method: str, path: str, *, query: Sequence[tuple[str, Any]] = (), body: Any = None,
             content_type: str = "application/json", response_type: str = "object") -> Any:
        """One API request; the answer deserialized as ``response_type`` (a model name, ``object`` or ``str``)."""
        headers = {"Accept": "application/json, */*"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = f"{method} {path}"
        try:
            params = self.api.param_serialize(method=method, resource_path=path, query_params=list(query),
                                              header_params=headers, body=body, auth_settings=["BearerToken"])
            response = self.api.call_api(*params, _request_timeout=self.timeout)
            response.read()
            return self.api.response_deserialize(response, {"2XX": response_type}).data
        except ApiException as err:
            error = {404: NotFoundError, 409: ConflictError}.get(int(err.status or 0), ClusterError)
            raise error(f"Kubernetes API at {self.host}: {request} answered {err.status} "
                        f"{err.reason}: {_status_message(err)}") from None
        except urllib3.exceptions.HTTPError as err:
            reason = getattr(err, "reason", None) or err
            raise ClusterUnavailableError(f"Kubernetes API at {self.host} ({self.source}): {request} failed: "
                                          f"{str(reason).splitlines()[0][:200]}") from None
        except ValueError as err:  # an answer the client's models reject
            raise ClusterError(f"Kubernetes API at {self.host}: {request} answered what the client rejects: "
                               f"{str(err).splitlines()[0][:200]}") from None

    # ------------------------------------------------------------------ server, namespaces

    def server_version(self) -> str:
        """The server's ``gitVersion`` (``v1.34.1``)."""
        info = self.call("GET", "/version", response_type="VersionInfo")
        self.version = str(info.git_version)
        return self.version

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        body = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {**MANAGED_BY, **(labels or {})}}}
        return dict(self.call("POST", "/api/v1/namespaces", body=body))

    def namespace_exists(self, name: str) -> bool:
        try:
            self.call("GET", f"/api/v1/namespaces/{name}")
        except NotFoundError:
            return False
        return True

    def delete_namespace(self, name: str) -> None:
        """Delete a namespace (and everything in it); one that is gone already is fine."""
        self.delete("v1", "Namespace", name)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete an object, its dependents in the background (a Job's pods); one that is gone already is fine."""
        try:
            self.call("DELETE", resource_path(api_version, kind, namespace, name),
                      query=[("propagationPolicy", "Background")])
        except NotFoundError:
            pass

    # ------------------------------------------------------------------ apply

    def apply(self, objects: Iterable[Mapping[str, Any]], namespace: str, *,
              field_manager: str = FIELD_MANAGER) -> list[dict[str, Any]]:
        """Server-side apply of each object into ``namespace`` (forced: the plugin owns what it applies)."""
        applied = []
        for obj in objects:
            body = json.loads(json.dumps(obj))
            body.pop("status", None)
            kind, api_version = str(body.get("kind", "")), str(body.get("apiVersion", ""))
            metadata = body.setdefault("metadata", {})
            name = metadata.get("name")
            if not name or not kind or not api_version:
                raise ClusterError(f"cannot apply an object without apiVersion, kind and metadata.name: {body!r:.120}")
            namespaced = KINDS.get(kind, ("", True))[1]
            if namespaced:
                metadata["namespace"] = namespace
            path = resource_path(api_version, kind, namespace if namespaced else None, name)
            applied.append(dict(self.call("PATCH", path, body=body, content_type="application/apply-patch+yaml",
                                          query=[("fieldManager", field_manager), ("force", "true")])))
        return applied

    # ------------------------------------------------------------------ reads

    def deployment(self, name: str, namespace: str) -> k8s.V1Deployment:
        return self.call("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
                         response_type="V1Deployment")

    def deployment_raw(self, name: str, namespace: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"))

    def replace_deployment(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT a whole Deployment (its ``resourceVersion`` guards against a concurrent change: 409)."""
        meta = body["metadata"]
        return dict(self.call("PUT", f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}",
                              body=dict(body), query=[("fieldManager", FIELD_MANAGER)]))

    def replicasets(self, namespace: str, selector: str = "") -> list[k8s.V1ReplicaSet]:
        query = [("labelSelector", selector)] if selector else []
        return list(self.call("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets", query=query,
                              response_type="V1ReplicaSetList").items)

    def pods(self, namespace: str, selector: str = "") -> list[k8s.V1Pod]:
        query = [("labelSelector", selector)] if selector else []
        return list(self.call("GET", f"/api/v1/namespaces/{namespace}/pods", query=query,
                              response_type="V1PodList").items)

    def events(self, namespace: str) -> list[Event]:
        """The namespace's events, oldest first."""
        items = self.call("GET", f"/api/v1/namespaces/{namespace}/events", response_type="CoreV1EventList").items
        out = []
        for item in items:
            when = item.last_timestamp or item.event_time or item.metadata.creation_timestamp
            ref = item.involved_object
            out.append(Event(time=when.isoformat() if when else "", type=item.type or "", reason=item.reason or "",
                             object=f"{(ref.kind or '').lower()}/{ref.name or ''}", message=item.message or "",
                             count=item.count or 1))
        return sorted(out, key=lambda e: e.time)

    def pod_logs(self, pod: str, namespace: str, *, container: str | None = None, tail: int | None = 50,
                 previous: bool = False, timestamps: bool = False, since: str | None = None) -> str:
        """The last ``tail`` lines of a container's log (None: all; ``previous``: of its terminated predecessor;
        ``timestamps``: each line after its RFC 3339 time; ``since``: from that RFC 3339 time on)."""
        query: list[tuple[str, Any]] = [("tailLines", tail)] if tail is not None else []
        if container:
            query.append(("container", container))
        if previous:
            query.append(("previous", "true"))
        if timestamps:
            query.append(("timestamps", "true"))
        if since:
            query.append(("sinceTime", since))
        return str(self.call("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query,
                             response_type="str"))
