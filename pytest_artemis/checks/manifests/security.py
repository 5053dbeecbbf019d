"""Security-context checks: non-root, no privilege escalation, read-only root, not privileged, capabilities.

Container settings override the pod's ``securityContext`` where Kubernetes lets them
(``runAsNonRoot``, ``runAsUser``); the rest are container-only fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import ManifestObject, mapping
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["DANGEROUS_CAPABILITIES"]

DANGEROUS_CAPABILITIES = frozenset({
    "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME",
    "DAC_READ_SEARCH", "NET_RAW", "BPF", "PERFMON", "MKNOD", "SETFCAP",
})


def _context(data: dict[str, Any]) -> dict[str, Any]:
    context = data.get("securityContext")
    return context if isinstance(context, dict) else {}


def _containers(obj: ManifestObject) -> Iterator[tuple[str, dict[str, Any]]]:
    for container in obj.containers():
        yield str(container.get("name", "")), _context(container)


@check("security-run-as-root", area="manifests", target="workload", severity="critical",
       fix="set securityContext.runAsNonRoot: true and runAsUser/runAsGroup to a non-zero id (e.g. 1000)",
       why="Without runAsNonRoot or a non-zero runAsUser the container runs as whatever user the image names, "
           "often root, so a container escape or a writable host mount is root on the node; the Pod Security "
           "Standards' restricted profile requires runAsNonRoot.")
def run_as_root(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container may run as root (runAsUser 0, or neither runAsNonRoot nor a non-zero runAsUser)."""
    pod = _context(obj.pod_spec())
    for name, container in _containers(obj):
        user = container.get("runAsUser", pod.get("runAsUser"))
        non_root = container.get("runAsNonRoot", pod.get("runAsNonRoot"))
        if user == 0:
            yield obj.finding("security-run-as-root", "runAsUser is 0: the process runs as root", container=name)
        elif non_root is not True and not (isinstance(user, int) and user > 0):
            yield obj.finding("security-run-as-root",
                              "neither runAsNonRoot: true nor a non-zero runAsUser: runs as root if the image does",
                              container=name)


@check("security-privilege-escalation", area="manifests", target="workload", severity="critical",
       fix="set securityContext.allowPrivilegeEscalation: false",
       why="allowPrivilegeEscalation defaults to true, so a setuid binary in the image can gain more privileges "
           "than the process started with (no no_new_privs); the Pod Security Standards' restricted profile "
           "requires false.")
def privilege_escalation(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container does not set allowPrivilegeEscalation: false (setuid binaries can gain privileges)."""
    for name, container in _containers(obj):
        if container.get("allowPrivilegeEscalation") is not False:
            shown = container.get("allowPrivilegeEscalation", "unset (defaults to true)")
            yield obj.finding("security-privilege-escalation", f"allowPrivilegeEscalation is {shown}",
                              container=name)


@check("security-writable-root-fs", area="manifests", target="workload", severity="warning",
       fix="set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app writes (/tmp)",
       why="A writable root filesystem lets an intruder or a bug change the running container (drop tools, "
           "overwrite binaries) and keeps state a restart silently loses; kube-score and Polaris recommend "
           "readOnlyRootFilesystem, the Pod Security Standards do not require it, hence a warning.")
def writable_root_fs(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container root filesystem is writable: an intruder can drop tools into the image."""
    for name, container in _containers(obj):
        if container.get("readOnlyRootFilesystem") is not True:
            yield obj.finding("security-writable-root-fs", "readOnlyRootFilesystem is not true", container=name)


@check("security-privileged", area="manifests", target="workload", severity="critical",
       fix="remove securityContext.privileged (grant the one capability needed instead)",
       why="A privileged container has every capability and the host's devices, which amounts to root on the "
           "node; the Pod Security Standards' baseline profile forbids it, so a namespace enforcing baseline "
           "rejects the pod.")
def privileged(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container runs privileged: it has every capability and the host's devices."""
    for name, container in _containers(obj):
        if container.get("privileged") is True:
            yield obj.finding("security-privileged", "privileged: true gives the container root on the node",
                              container=name)


@check("security-capabilities", area="manifests", target="workload", severity="warning",
       fix="set securityContext.capabilities.drop: [ALL] and add back only what is needed (e.g. NET_BIND_SERVICE)",
       why="The runtime's default capabilities (NET_RAW, SETUID, CHOWN...) are more than most apps need, and "
           "the Pod Security Standards' restricted profile requires drop: [ALL] with at most NET_BIND_SERVICE "
           "added back. Adding SYS_ADMIN, NET_ADMIN or the like is near-privileged access to the node: "
           "critical.")
def capabilities(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container keeps default capabilities (no drop: [ALL]) or adds dangerous ones (SYS_ADMIN, NET_ADMIN...)."""
    for name, container in _containers(obj):
        caps = mapping(container.get("capabilities"))
        dropped = {str(c).upper() for c in caps.get("drop") or ()}
        added = {str(c).upper() for c in caps.get("add") or ()}
        if "ALL" not in dropped:
            yield obj.finding("security-capabilities", "capabilities.drop does not include ALL", container=name)
        dangerous = sorted(added & DANGEROUS_CAPABILITIES)
        if dangerous:
            yield obj.finding("security-capabilities", f"capabilities.add grants {', '.join(dangerous)}",
                              container=name, severity="critical")
