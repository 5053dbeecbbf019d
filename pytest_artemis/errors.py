"""The project's own exception tree.

Every error the plugin raises on purpose derives from :class:`ArtemisError`; vendor exceptions
(kubernetes, requests, subprocess, yaml, jsonschema ...) are wrapped with ``raise ... from err``
so that users see one family of errors with a message that names what went wrong and where.
"""

from __future__ import annotations

__all__ = [
    "ArtemisError",
    "BaselineError",
    "ClusterError",
    "ClusterUnavailableError",
    "ConfigError",
    "ConflictError",
    "DashboardError",
    "GeneratorSaturatedError",
    "InconclusiveError",
    "LoadError",
    "ManifestError",
    "NotFoundError",
    "PrometheusError",
    "PrometheusQueryError",
    "PrometheusUnavailableError",
    "RolloutFailedError",
    "RuleError",
    "RunInvalidError",
    "ServiceError",
    "ServiceStartError",
    "TargetUnreachableError",
    "TrafficRefusedError",
]


class ArtemisError(Exception):
    """Base of every error raised by pytest-artemis."""


class ConfigError(ArtemisError):
    """An option, ini key or environment variable has a value the plugin cannot use."""


class BaselineError(ConfigError):
    """The baselines file is missing, unreadable or does not match its schema."""


class ServiceError(ArtemisError):
    """A service the session starts (reference service, Prometheus, Locust) misbehaved."""


class ServiceStartError(ServiceError):
    """A service could not be started or did not become ready in time."""


class TargetUnreachableError(ServiceError):
    """The service under test does not answer."""


class PrometheusError(ArtemisError):
    """Talking to Prometheus failed."""


class PrometheusUnavailableError(PrometheusError):
    """No Prometheus server can be reached or started."""


class PrometheusQueryError(PrometheusError):
    """Prometheus rejected a query; the message carries the PromQL and the server's reason."""

    def __init__(self, query: str, reason: str) -> None:
        super().__init__(f"PromQL {query!r} failed: {reason}")
        self.query = query
        self.reason = reason


class ManifestError(ArtemisError):
    """A Kubernetes manifest could not be read or rendered."""


class RuleError(ArtemisError):
    """A Prometheus rule or config file could not be read or checked."""


class DashboardError(ArtemisError):
    """A Grafana dashboard could not be read."""


class LoadError(ArtemisError):
    """A load scenario could not run (bad locustfile, bad values, generator crash)."""


class RunInvalidError(LoadError):
    """The run did not send the load it planned (a worker lost or never connected): its figures vouch for nothing."""


class GeneratorSaturatedError(RunInvalidError):
    """The load generator, not the target, was the bottleneck: the figures are not trustworthy."""


class InconclusiveError(ArtemisError):
    """A gate could not judge (no data, too few samples): inconclusive is never GO."""




class TrafficRefusedError(ConfigError):
    """Generated traffic or a fault switch was refused: the environment is production and load is not allowed."""


class ClusterError(ArtemisError):
    """Talking to the Kubernetes API failed, or the cluster refused what was asked of it."""


class ClusterUnavailableError(ClusterError):
    """No Kubernetes API server is configured, or the configured one cannot be reached."""


class NotFoundError(ClusterError):
    """The Kubernetes API answered 404 for the object asked for."""


class ConflictError(ClusterError):
    """The Kubernetes API answered 409 (the object exists already, or changed since it was read)."""


class RolloutFailedError(ClusterError):
    """A rollout failed: its progress deadline passed, a new pod failed fast, or it did not finish in time.

    ``reason`` is the short cause (``ProgressDeadlineExceeded``, ``CrashLoopBackOff``, ``timeout`` ...) and
    ``pod``/``container`` name the failing pod when there is one.
    """

    def __init__(self, message: str, *, reason: str, deployment: str = "", pod: str = "",
                 container: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.deployment = deployment
        self.pod = pod
        self.container = container
