"""The reference service's metric names: the one place that states what ``/metrics`` exposes.

The project's recording rules (``manifests/monitoring/rules``), the dashboard and the metric inventory
used by the rule and dashboard checks consume exactly these names. Change a name here and the rule
gate's unknown-series check tells you every rule that still uses the old one.

One series is not the service's own: while the ``unavailable_replicas`` fault is on, the service also
reports its Deployment in kube-state-metrics' name (:data:`DEPLOYMENT_REPLICAS_UNAVAILABLE`), so the kit's
Deployment Issues alert can be raised without a cluster. It is not in :data:`INVENTORY` (it is absent
while the fault is off); the kit's ``manifests/monitoring/inventory.txt`` lists it with kube-state-metrics.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AUTH_FAILURES_TOTAL",
    "BUILD_INFO",
    "CPU_LIMIT_CORES",
    "DEPENDENCY_UP",
    "DEPLOYMENT",
    "DEPLOYMENT_NAMESPACE",
    "DEPLOYMENT_REPLICAS_UNAVAILABLE",
    "FAULT_ACTIVE",
    "INVENTORY",
    "LABELS",
    "LATENCY_BUCKETS",
    "MEMORY_LIMIT_BYTES",
    "NAMESPACE",
    "POOL_IN_USE",
    "POOL_SIZE",
    "PROCESS_METRICS",
    "READY",
    "REQUESTS_IN_FLIGHT",
    "REQUESTS_TOTAL",
    "REQUEST_DURATION",
]

NAMESPACE: Final = "artemis"

#: Counter{route, method, status}: every HTTP request served (route is the template, e.g. /api/v1/missions/{id}).
REQUESTS_TOTAL: Final = "artemis_http_requests_total"
#: Histogram{route, method, status} in seconds.
REQUEST_DURATION: Final = "artemis_http_request_duration_seconds"
#: Gauge: requests being served right now.
REQUESTS_IN_FLIGHT: Final = "artemis_http_requests_in_flight"
#: Counter{endpoint}: requests with a missing or wrong bearer token.
AUTH_FAILURES_TOTAL: Final = "artemis_auth_failures_total"
#: Gauge{dependency}: 1 when the dependency (database, cache, llm) is up, 0 when marked down.
DEPENDENCY_UP: Final = "artemis_dependency_up"
#: Gauge: 1 when /health/ready answers 200.
READY: Final = "artemis_ready"
#: Gauge{fault}: 1 while a fault switch is on (the names of faults.FAULT_NAMES: latency, errors, readiness,
#: slow_startup, memory_growth, memory_limit, service_down, rollout).
FAULT_ACTIVE: Final = "artemis_fault_active"
#: Gauge{pool}: connections of a pool in use / pool size ("Resource Deployment").
POOL_IN_USE: Final = "artemis_pool_connections_in_use"
POOL_SIZE: Final = "artemis_pool_connections_size"
#: Gauges: the memory and CPU the process may use (cgroup limit, else the machine's), for *_usage_percent.
MEMORY_LIMIT_BYTES: Final = "artemis_memory_limit_bytes"
CPU_LIMIT_CORES: Final = "artemis_cpu_limit_cores"
#: Gauge{version}: always 1.
BUILD_INFO: Final = "artemis_build_info"
#: Gauge{namespace, deployment}, kube-state-metrics' name: exposed only while ``unavailable_replicas`` is on.
DEPLOYMENT_REPLICAS_UNAVAILABLE: Final = "kube_deployment_status_replicas_unavailable"
#: The labels it carries: the kit's Deployment name (manifests/base/deployment.yaml), in a namespace of that name.
DEPLOYMENT_NAMESPACE: Final = "artemis"
DEPLOYMENT: Final = "artemis"

#: The standard prometheus_client process collector.
PROCESS_METRICS: Final[tuple[str, ...]] = (
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "process_max_fds",
)

LABELS: Final[dict[str, tuple[str, ...]]] = {
    REQUESTS_TOTAL: ("route", "method", "status"),
    REQUEST_DURATION: ("route", "method", "status"),
    AUTH_FAILURES_TOTAL: ("endpoint",),
    DEPENDENCY_UP: ("dependency",),
    FAULT_ACTIVE: ("fault",),
    POOL_IN_USE: ("pool",),
    POOL_SIZE: ("pool",),
    BUILD_INFO: ("version",),
    DEPLOYMENT_REPLICAS_UNAVAILABLE: ("namespace", "deployment"),
}

LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)

#: Every series name a scrape of the reference service yields (histograms expanded), plus Prometheus' own ``up``.
INVENTORY: Final[frozenset[str]] = frozenset(
    {
        REQUESTS_TOTAL,
        REQUEST_DURATION + "_bucket",
        REQUEST_DURATION + "_sum",
        REQUEST_DURATION + "_count",
        REQUESTS_IN_FLIGHT,
        AUTH_FAILURES_TOTAL,
        DEPENDENCY_UP,
        READY,
        FAULT_ACTIVE,
        POOL_IN_USE,
        POOL_SIZE,
        MEMORY_LIMIT_BYTES,
        CPU_LIMIT_CORES,
        BUILD_INFO,
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        *PROCESS_METRICS,
    }
)
