"""The reference service's Prometheus instruments, built on one private registry with the names of metrics.py.

Also reads the resource limits the process runs under (cgroup v2/v1 limit, else the machine's memory and
CPUs) for ``artemis_memory_limit_bytes`` and ``artemis_cpu_limit_cores``.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from pytest_artemis.services.target import metrics as names
from pytest_artemis.services.target.faults import DEPENDENCIES, FAULT_NAMES

__all__ = ["CONTENT_TYPE", "Instruments", "cpu_limit_cores", "memory_limit_bytes"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def memory_limit_bytes(cgroup: Path = _CGROUP) -> float:
    """The cgroup memory limit (v2 ``memory.max``, v1 ``memory.limit_in_bytes``), else the machine's memory."""
    machine = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for raw in (_read(cgroup / "memory.max"), _read(cgroup / "memory" / "memory.limit_in_bytes")):
        if raw and raw.isdigit() and 0 < int(raw) < machine:
            return float(raw)
    return machine


def cpu_limit_cores(cgroup: Path = _CGROUP) -> float:
    """The cgroup CPU quota in cores (v2 ``cpu.max``, v1 cfs quota/period), else the CPUs this process may use."""
    machine = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    raw = _read(cgroup / "cpu.max")
    if raw:
        quota, _, period = raw.partition(" ")
        if quota.isdigit() and period.isdigit() and int(period) > 0:
            return min(machine, int(quota) / int(period))
    quota_v1 = _read(cgroup / "cpu" / "cpu.cfs_quota_us")
    period_v1 = _read(cgroup / "cpu" / "cpu.cfs_period_us")
    if quota_v1 and period_v1 and quota_v1.isdigit() and period_v1.isdigit() and int(period_v1) > 0:
        return min(machine, int(quota_v1) / int(period_v1))
    return machine


class Instruments:
    """Every metric the service exposes, on a registry of its own."""

    def __init__(self, version: str, pool_names: tuple[str, ...] = ("database",)) -> None:
        disable_created_metrics()  # the *_created series are not part of the metric contract
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        ProcessCollector(registry=reg)
        self.requests = Counter(names.REQUESTS_TOTAL.removesuffix("_total"), "HTTP requests served.",
                                names.LABELS[names.REQUESTS_TOTAL], registry=reg)
        self.duration = Histogram(names.REQUEST_DURATION, "HTTP request duration in seconds.",
                                  names.LABELS[names.REQUEST_DURATION], buckets=names.LATENCY_BUCKETS, registry=reg)
        self.in_flight = Gauge(names.REQUESTS_IN_FLIGHT, "HTTP requests being served.", registry=reg)
        self.auth_failures = Counter(names.AUTH_FAILURES_TOTAL.removesuffix("_total"),
                                     "Requests with a missing or wrong bearer token.",
                                     names.LABELS[names.AUTH_FAILURES_TOTAL], registry=reg)
        self.dependency_up = Gauge(names.DEPENDENCY_UP, "1 when the dependency is up, 0 when marked down.",
                                   names.LABELS[names.DEPENDENCY_UP], registry=reg)
        self.ready = Gauge(names.READY, "1 when /health/ready answers 200.", registry=reg)
        self.fault_active = Gauge(names.FAULT_ACTIVE, "1 while the fault switch is on.",
                                  names.LABELS[names.FAULT_ACTIVE], registry=reg)
        self.pool_in_use = Gauge(names.POOL_IN_USE, "Connections of the pool in use.",
                                 names.LABELS[names.POOL_IN_USE], registry=reg)
        self.pool_size = Gauge(names.POOL_SIZE, "Connections the pool holds.", names.LABELS[names.POOL_SIZE],
                               registry=reg)
        self.real_memory_limit_bytes = memory_limit_bytes()
        self.memory_limit = Gauge(names.MEMORY_LIMIT_BYTES,
                                  "Memory the process may use (cgroup limit, else the machine's).", registry=reg)
        self.memory_limit.set(self.real_memory_limit_bytes)
        Gauge(names.CPU_LIMIT_CORES, "CPU cores the process may use (cgroup quota, else the machine's).",
              registry=reg).set(cpu_limit_cores())
        Gauge(names.BUILD_INFO, "Build of the reference service; always 1.", names.LABELS[names.BUILD_INFO],
              registry=reg).labels(version=version).set(1)
        self.replicas_unavailable = Gauge(
            names.DEPLOYMENT_REPLICAS_UNAVAILABLE, "Unavailable replicas of the Deployment (the rollout fault; "
            "kube-state-metrics' name).", names.LABELS[names.DEPLOYMENT_REPLICAS_UNAVAILABLE], registry=reg)
        for dependency in DEPENDENCIES:
            self.dependency_up.labels(dependency=dependency).set(1)
        for fault in FAULT_NAMES:
            self.fault_active.labels(fault=fault).set(0)
        for pool in pool_names:
            self.pool_in_use.labels(pool=pool).set(0)
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request and its duration (label children cached: this runs on every request)."""
        key = (route, method, status)
        children = self._series.get(key)
        if children is None:
            code = str(status)
            children = (self.requests.labels(route=route, method=method, status=code),
                        self.duration.labels(route=route, method=method, status=code))
            self._series[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def set_memory_limit(self, limit_mb: float) -> None:
        """Report a memory limit of ``limit_mb`` MB (the memory limit fault); 0 restores the real limit."""
        self.memory_limit.set(limit_mb * 1024 * 1024 if limit_mb > 0 else self.real_memory_limit_bytes)

    def set_unavailable_replicas(self, replicas: int) -> None:
        """Report the Deployment with ``replicas`` unavailable (the rollout fault); 0 removes the series."""
        if replicas > 0:
            self.replicas_unavailable.labels(namespace=names.DEPLOYMENT_NAMESPACE,
                                             deployment=names.DEPLOYMENT).set(replicas)
        else:
            self.replicas_unavailable.clear()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
