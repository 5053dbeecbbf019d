"""HTTP probes of the target from the test process: preflight, health and memory sampling, steady-state probes.

The target URL may carry credentials (``http://user:pass@host:port``) and a query (``/?token=x``):
:class:`TargetURL` splits them once (:func:`pytest_artemis.redact.split_credentials`) into a clean base, the
``Authorization`` header to send and the query kept on every joined path (:func:`pytest_artemis.redact.join`),
and :meth:`TargetURL.shown` is what messages show (:func:`pytest_artemis.redact.redact`: no password, no
secret query value). :func:`preflight`, :func:`read_resident_memory`, :func:`steady_state` and the
:class:`Sampler` thread of a run all go through it. No pytest and no Locust imports here.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pytest_artemis.errors import TargetUnreachableError
from pytest_artemis.redact import join, redact, split_credentials

__all__ = ["Sampler", "TargetURL", "http_get", "preflight", "read_resident_memory", "steady_state"]

_RSS = re.compile(r"^process_resident_memory_bytes(?:\{[^}]*\})?\s+([0-9.eE+]+)", re.MULTILINE)


@dataclass(frozen=True)
class TargetURL:
    """A target URL split into the base to join paths to and the headers its credentials become."""

    base: str  # without user:password, with the query
    headers: Mapping[str, str] = field(default_factory=dict)
    given: str = ""  # the URL as given (credentials and all), for :meth:`shown` only

    @classmethod
    def parse(cls, url: str) -> TargetURL:
        base, headers = split_credentials(url)
        return cls(base, headers, url)

    def url(self, path: str) -> str:
        """The URL of ``path`` on the target, keeping the target's query (it may carry a token)."""
        return join(self.base, path)

    def shown(self, path: str = "") -> str:
        """The URL of ``path`` as given, as messages show it: password and secret query values masked."""
        given = self.given or self.base
        return redact(join(given, path) if path else given)

    def __repr__(self) -> str:  # pytest shows reprs in tracebacks: never the credentials
        return f"TargetURL({self.shown()!r})"


def _as_target(target: str | TargetURL) -> TargetURL:
    return target if isinstance(target, TargetURL) else TargetURL.parse(target)


def http_get(target: str | TargetURL, path: str, timeout: float) -> tuple[int, bytes]:
    """GET ``path`` on the target with its credentials: (status, body); raises OSError/ValueError when unreachable."""
    parsed = _as_target(target)
    request = urllib.request.Request(parsed.url(path), headers=dict(parsed.headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), b""


def _reason(err: BaseException) -> str:
    return redact(str(getattr(err, "reason", err)))


def preflight(target: str | TargetURL, health_path: str, timeout: float = 3.0) -> None:
    """The target's health endpoint must answer 2xx before any load; else one line naming URL and failure."""
    parsed = _as_target(target)
    shown = parsed.shown(health_path)
    try:
        status, _ = http_get(parsed, health_path, timeout)
    except (OSError, ValueError) as err:
        raise TargetUnreachableError(f"preflight: GET {shown} failed: {_reason(err)}; no load was sent") from err
    if not 200 <= status < 300:
        raise TargetUnreachableError(f"preflight: GET {shown} answered HTTP {status}; no load was sent")


def read_resident_memory(target: str | TargetURL, metrics_path: str = "/metrics", timeout: float = 1.0
                         ) -> float | None:
    """process_resident_memory_bytes from the target's exposition, None when absent or unreachable."""
    try:
        status, body = http_get(target, metrics_path, timeout)
    except (OSError, ValueError):
        return None
    match = _RSS.search(body.decode("utf-8", "replace")) if status == 200 else None
    return float(match.group(1)) if match else None


def steady_state(target: str | TargetURL, paths: tuple[str, ...], requests: int = 20, timeout: float = 2.0
                 ) -> tuple[float, float | None, list[str]]:
    """Probe ``paths`` round-robin ``requests`` times: (share answered 2xx in %, p95 ms, problems seen)."""
    parsed = _as_target(target)
    times: list[float] = []
    problems: list[str] = []
    ok = 0
    for i in range(requests):
        path = paths[i % len(paths)]
        began = time.perf_counter()
        try:
            status, _ = http_get(parsed, path, timeout)
        except (OSError, ValueError) as err:
            problems.append(f"GET {parsed.shown(path)}: {_reason(err)}")
            continue
        times.append((time.perf_counter() - began) * 1000)
        if 200 <= status < 300:
            ok += 1
        else:
            problems.append(f"GET {parsed.shown(path)}: HTTP {status}")
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95 + 0.999999) - 1)] if times else None
    return 100.0 * ok / requests, p95, problems


class Sampler(threading.Thread):
    """Samples health (availability) and resident memory of the target while the run goes."""

    def __init__(self, target: TargetURL, health_path: str, interval: float, started: Callable[[], float],
                 memory_source: Callable[[], float | None] | None, metrics_path: str | None) -> None:
        super().__init__(name="artemis-load-sampler", daemon=True)
        self.target, self.health_path, self.interval, self.started = target, health_path, interval, started
        self.memory_source, self.metrics_path = memory_source, metrics_path
        self.stop_event = threading.Event()
        self.health: list[tuple[float, bool]] = []
        self.memory: list[tuple[float, float]] = []

    def run(self) -> None:
        next_memory = 0.0
        while not self.stop_event.is_set():
            now = time.time()
            try:
                ok = 200 <= http_get(self.target, self.health_path, 1.0)[0] < 300
            except (OSError, ValueError):
                ok = False
            self.health.append((now - self.started(), ok))
            if now >= next_memory:
                next_memory = now + 1.0
                value = (self.memory_source() if self.memory_source is not None else
                         read_resident_memory(self.target, self.metrics_path) if self.metrics_path else None)
                if value is not None:
                    self.memory.append((now - self.started(), value))
            self.stop_event.wait(max(0.0, self.interval - (time.time() - now)))
