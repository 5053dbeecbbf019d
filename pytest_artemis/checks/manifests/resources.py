"""Resource checks: every container (init containers too) requests and is limited in CPU and memory.

A limit without a request counts as both (Kubernetes copies the limit into the request); the info check
``resources-requests-from-limits`` says so, since the pod then reserves its whole limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import ManifestObject
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["RESOURCES"]

RESOURCES = ("cpu", "memory")


def _section(container: dict[str, Any], key: str) -> dict[str, Any]:
    resources = container.get("resources")
    section = resources.get(key) if isinstance(resources, dict) else None
    return section if isinstance(section, dict) else {}


@check("resources-requests-missing", area="manifests", target="workload", severity="critical",
       fix="set resources.requests.cpu and resources.requests.memory from measured usage",
       why="The scheduler places pods by their requests: a pod that requests nothing is BestEffort QoS, packed "
           "onto nodes blind and the first evicted under node pressure (Kubernetes docs, Pod Quality of Service "
           "Classes). A limit counts, since Kubernetes copies it into the request.")
def requests_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container requests no CPU or memory: the scheduler packs it blind and it is evicted first."""
    for container in obj.containers():
        requests, limits = _section(container, "requests"), _section(container, "limits")
        missing = [r for r in RESOURCES if r not in requests and r not in limits]
        if missing:
            yield obj.finding("resources-requests-missing",
                              f"resources.requests.{' and '.join(missing)} missing: scheduled blind, evicted first",
                              container=str(container.get("name", "")))


@check("resources-limits-missing", area="manifests", target="workload", severity="warning",
       fix="set resources.limits.memory (and cpu) so one pod cannot starve its node",
       why="Without a memory limit one leaking container can use its node's memory until the kernel OOM killer "
           "or kubelet eviction takes down its neighbours, and without a CPU limit it can take the CPU they "
           "burst into. Teams that leave CPU limits off on purpose ignore the check.")
def limits_missing(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container has no CPU or memory limit: one runaway pod can starve its node."""
    for container in obj.containers():
        limits = _section(container, "limits")
        missing = [r for r in RESOURCES if r not in limits]
        if missing:
            yield obj.finding("resources-limits-missing",
                              f"resources.limits.{' and '.join(missing)} missing: a runaway pod can starve its node",
                              container=str(container.get("name", "")))


@check("resources-requests-from-limits", area="manifests", target="workload", severity="info",
       fix="set resources.requests from measured usage (equal to the limits only on purpose, for Guaranteed QoS)",
       why="With a limit and no request Kubernetes copies the limit into the request, so the scheduler reserves "
           "the whole limit and fewer pods fit a node; often meant (Guaranteed QoS), so it is only recorded "
           "(info).")
def requests_from_limits(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container sets a limit but no request: Kubernetes copies the limit into the request (it reserves it all)."""
    for container in obj.containers():
        requests, limits = _section(container, "requests"), _section(container, "limits")
        copied = {str(r): value for r, value in limits.items() if r not in requests}
        if copied:
            shown = ", ".join(f"{r} {value}" for r, value in copied.items())
            yield obj.finding("resources-requests-from-limits",
                              f"resources.requests.{' and '.join(copied)} not set: Kubernetes copies the limits "
                              f"({shown}) into the requests, so the scheduler reserves the whole limit",
                              container=str(container.get("name", "")))
