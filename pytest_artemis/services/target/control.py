"""Start, reach and steer the reference service from the test session (no pytest imports).

* :class:`Target` - what the fixtures hand to tests: ``url``, ``managed``, ``admin``, ``admin_token``,
  ``log_path``, ``pid`` (None for an external target), ``stop()``, and where and how Prometheus scrapes it:
  ``scrape_url`` (the base URL whose ``/metrics`` it reads), ``metrics_url`` and ``metrics_token``.
* :func:`start_reference_service` - the reference service in a child process on a free loopback port, its
  ``/metrics`` open or protected (a bearer token, a port of its own, or both).
* :func:`external_target` - a target given by URL, checked to answer. The URL may carry credentials
  (``http://user:pass@host``: sent as a basic-auth ``Authorization`` header) and a query (``/?token=x``:
  kept on the probed URL); messages show it through :func:`pytest_artemis.redact.redact`.
* :class:`AdminClient` - ``GET/PUT/DELETE /admin/faults`` with the bearer token. When the service does not
  answer, its error is one line naming the service, its URL and what failed, then (for a service started
  here) how its process ended and the last lines of its log; pytest shows no frames of the client.
"""

from __future__ import annotations

import operator
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from pytest_artemis.errors import ServiceError, TargetUnreachableError
from pytest_artemis.redact import join, redact, register_secret, split_credentials
from pytest_artemis.services.failures import Explain, unreachable_message
from pytest_artemis.services.processes import ManagedProcess, free_port, http_ok
from pytest_artemis.services.target.faults import ENV_PREFIX

__all__ = ["SERVICE_ENV", "AdminClient", "Target", "external_target", "service_env", "start_reference_service"]

#: Variables the reference service reads; the session's own values are not inherited by a managed target.
SERVICE_ENV: tuple[str, ...] = ("ARTEMIS_ADMIN_TOKEN", "ARTEMIS_WARMUP_SECONDS", "ARTEMIS_DRAIN_SECONDS",
                                "ARTEMIS_POOL_SIZE", "ARTEMIS_POOL_TIMEOUT_SECONDS", "ARTEMIS_WRITE_HOLD_MS",
                                "ARTEMIS_MEMORY_GROWTH_CAP_MB", "ARTEMIS_METRICS_TOKEN", "ARTEMIS_METRICS_PORT")
#: pytest leaves the admin client's frames out of a traceback that ends in one of its errors.
_HIDE = operator.methodcaller("errisinstance", ServiceError)


class AdminClient:
    """The fault switches of a reference service, through ``/admin/faults`` and its bearer token."""

    def __init__(self, url: str, token: str | None, timeout: float = 5.0, *, name: str = "reference service",
                 explain: Explain | None = None) -> None:
        base, self._headers = split_credentials(url)
        self.base = base
        self.url = join(base, "/admin/faults")
        self.token = token
        self.name = name
        self.timeout = timeout
        self.explain = explain
        self._client = httpx.Client(timeout=timeout)

    def _call(self, method: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        __tracebackhide__ = _HIDE
        headers = {**self._headers, "Authorization": f"Bearer {self.token}"} if self.token else dict(self._headers)
        try:
            response = self._client.request(method, self.url, json=body, headers=headers)
        except httpx.HTTPError as err:
            raise TargetUnreachableError(unreachable_message(self.name, self.base, f"{method} /admin/faults", err,
                                                             timeout=self.timeout, explain=self.explain)) from None
        if response.status_code != 200:
            raise ServiceError(redact(f"{method} {self.url} answered {response.status_code}: "
                                      f"{response.text.strip()}"))
        data: dict[str, Any] = response.json()
        return data

    def get(self) -> dict[str, Any]:
        """The fault fields in force (``latency_ms``, ``error_ratio``, ``readiness_down`` ...)."""
        __tracebackhide__ = _HIDE
        return dict(self._call("GET")["faults"])

    def status(self) -> dict[str, Any]:
        """Faults, which are active, whether the service is initialising or draining, retained ballast (MB)."""
        __tracebackhide__ = _HIDE
        return self._call("GET")

    def set(self, **faults: Any) -> dict[str, Any]:
        """Switch faults (only the given fields change); returns the faults now in force."""
        __tracebackhide__ = _HIDE
        return dict(self._call("PUT", faults)["faults"])

    def reset(self) -> dict[str, Any]:
        """Switch every fault off."""
        __tracebackhide__ = _HIDE
        return dict(self._call("DELETE")["faults"])

    def close(self) -> None:
        self._client.close()


@dataclass
class Target:
    """The service under test: the managed reference service or an external URL."""

    url: str
    managed: bool
    admin: AdminClient | None = None
    admin_token: str | None = None
    log_path: Path | None = None
    process: ManagedProcess | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)  # bearer token /metrics wants (None: open)
    metrics_port: int | None = None  # the port /metrics is served on alone (None: the main port)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def scrape_url(self) -> str:
        """The base URL whose ``/metrics`` Prometheus scrapes: ``url``, or its metrics port."""
        if self.metrics_port is None:
            return self.url
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return self.scrape_url.rstrip("/") + "/metrics"

    @property
    def metrics_headers(self) -> dict[str, str]:
        """The headers a request to :attr:`metrics_url` needs (the bearer token, when there is one)."""
        return {"Authorization": f"Bearer {self.metrics_token}"} if self.metrics_token else {}

    def stop(self, timeout: float | None = None) -> int | None:
        """Stop the reference service (no-op for an external target); returns its exit code."""
        if self.admin is not None:
            self.admin.close()
        return self.process.stop(timeout) if self.process is not None else None


def service_env(faults: Mapping[str, Any] | None = None, warmup_seconds: float | None = None,
                drain_seconds: float | None = None) -> dict[str, str]:
    """The variables that start a reference service with ``faults`` switched on and the given periods."""
    env: dict[str, str] = {}
    for name, value in (faults or {}).items():
        if isinstance(value, (list, tuple)):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[ENV_PREFIX + name.upper()] = str(value)
    if warmup_seconds is not None:
        env["ARTEMIS_WARMUP_SECONDS"] = f"{warmup_seconds:g}"
    if drain_seconds is not None:
        env["ARTEMIS_DRAIN_SECONDS"] = f"{drain_seconds:g}"
    return env


def start_reference_service(log_dir: Path, *, base_env: Mapping[str, str], env: Mapping[str, str] | None = None,
                            faults: Mapping[str, Any] | None = None, warmup_seconds: float | None = None,
                            drain_seconds: float | None = None, wait_for: str = "/health", timeout: float = 20.0,
                            name: str = "target", metrics_token: str | bool | None = None,
                            metrics_port: int | bool | None = None) -> Target:
    """Start the reference service on a free 127.0.0.1 port and wait until ``GET wait_for`` answers 200.

    ``faults`` (fault field -> value), ``warmup_seconds``, ``drain_seconds`` and ``env`` set it up; the
    service variables the session itself carries in ``base_env`` are dropped so a managed target starts
    clean. Its log goes to ``log_dir/<name>-<port>.log``. A managed target drains 0.2 s on stop by default.
    ``metrics_token`` protects ``/metrics`` with that bearer token (True: a random one); ``metrics_port``
    serves it on that port alone (True: a free one). The :class:`Target` carries both for Prometheus.
    """
    port = free_port()
    token = secrets.token_urlsafe(16)
    child_env = {k: v for k, v in base_env.items() if k not in SERVICE_ENV and not k.startswith(ENV_PREFIX)}
    child_env.update({"ARTEMIS_ADMIN_TOKEN": token, "ARTEMIS_DRAIN_SECONDS": "0.2", "PYTHONUNBUFFERED": "1"})
    if metrics_token:
        child_env["ARTEMIS_METRICS_TOKEN"] = secrets.token_urlsafe(16) if metrics_token is True else str(metrics_token)
    if metrics_port:
        child_env["ARTEMIS_METRICS_PORT"] = str(free_port() if metrics_port is True else int(metrics_port))
    child_env.update(env or {})
    child_env.update(service_env(faults, warmup_seconds, drain_seconds))
    token = child_env.get("ARTEMIS_ADMIN_TOKEN") or token
    scrape_token = child_env.get("ARTEMIS_METRICS_TOKEN", "").strip() or None
    scrape_port = int(child_env["ARTEMIS_METRICS_PORT"]) if child_env.get("ARTEMIS_METRICS_PORT", "").strip().isdigit() \
        else None
    if scrape_token is not None:
        register_secret(scrape_token)
    log_path = Path(log_dir) / f"{name}-{port}.log"
    drain = float(child_env.get("ARTEMIS_DRAIN_SECONDS", "0.2") or 0)
    process = ManagedProcess(f"reference service {name}",
                             [sys.executable, "-m", "pytest_artemis.services.target", "--port", str(port)],
                             log_path=log_path, env=child_env, stop_timeout=drain + 5.0)
    url = f"http://127.0.0.1:{port}"
    process.start()
    try:
        process.wait_ready(http_ok(url + wait_for), timeout=timeout)
    except BaseException:
        process.stop()
        raise
    admin = AdminClient(url, token, name=process.name, explain=process.diagnosis)
    return Target(url=url, managed=True, admin=admin, admin_token=token, log_path=log_path, process=process,
                  metrics_token=scrape_token, metrics_port=scrape_port)


def external_target(url: str, timeout: float = 5.0) -> Target:
    """A target given by URL; raises :class:`TargetUnreachableError` when nothing answers there.

    Credentials in the URL go as an ``Authorization`` header, its query stays; ``Target.url`` keeps both
    (the load runner and the probes split them again), messages show the URL redacted.
    """
    base, headers = split_credentials(url)
    try:
        httpx.get(base, headers=headers, timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as err:
        # from None: the vendor error may name the URL unredacted; its text is in the message, redacted
        raise TargetUnreachableError(redact(f"target {url} does not answer: {err}")) from None
    return Target(url=url.rstrip("/"), managed=False)
