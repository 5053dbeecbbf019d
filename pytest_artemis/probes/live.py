"""Probing a running target as the kubelet does: one GET per probe on a fresh connection, timed.

* :class:`Probe` - GETs paths on the target with the target URL's credentials and query (shown redacted,
  in a traceback too); :meth:`Probe.get` returns an :class:`Answer` (status or error, seconds).
* :class:`ProbeSampler` - a thread per probe path sampling while something else runs (a load scenario).
* :func:`wait_until_ok` - poll a path until it answers 2xx/3xx or a deadline passes (startup).
* :func:`watch_shutdown` - SIGTERM a process with requests in flight and time what follows: readiness failing,
  the in-flight requests' answers, the exit.

The kubelet counts 200-399 as success and anything else, or no answer within ``timeoutSeconds``, as failure.
No pytest imports here.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Self

import httpx

from pytest_artemis.load.probes import TargetURL
from pytest_artemis.redact import redact

__all__ = ["Answer", "Probe", "ProbeSampler", "Shutdown", "percentile", "succeeded", "wait_until_ok",
           "watch_shutdown"]


def succeeded(status: int | None) -> bool:
    """What the kubelet counts as a passing httpGet probe: 200 <= status < 400."""
    return status is not None and 200 <= status < 400


@dataclass(frozen=True)
class Answer:
    """One probe: the status (None when there was no answer), the seconds it took, the error if any."""

    status: int | None
    seconds: float
    error: str = ""
    body: str = ""

    @property
    def ms(self) -> float:
        return round(self.seconds * 1000, 2)

    def ok_within(self, timeout: float) -> bool:
        return succeeded(self.status) and self.seconds <= timeout

    def shown(self) -> str:
        """``200 in 12 ms``, ``503 in 4 ms``, ``no answer after 4,000 ms (ReadTimeout)``."""
        if self.status is None:
            return f"no answer after {self.seconds * 1000:,.0f} ms ({self.error})"
        return f"{self.status} in {self.seconds * 1000:,.0f} ms"


class Probe:
    """GETs paths on the target with its credentials and query; shown (in a traceback too) redacted."""

    def __init__(self, url: str) -> None:
        self.target = TargetURL.parse(url)
        # no keep-alive: every GET opens its own connection, as the kubelet's probes and a Service's new clients do
        self._client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0),
                                    headers=dict(self.target.headers))

    def get(self, path: str, timeout: float = 5.0) -> Answer:
        """One GET of ``path`` on a new connection (as the kubelet probes), never raising for a failed request."""
        started = time.perf_counter()
        try:
            response = self._client.get(self.target.url(path), timeout=timeout)
        except httpx.HTTPError as err:
            return Answer(None, time.perf_counter() - started, redact(type(err).__name__))
        return Answer(response.status_code, time.perf_counter() - started, body=redact(response.text[:200]))

    def shown(self, path: str = "") -> str:
        return self.target.shown(path)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"<Probe {self.target.shown()}>"


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0..1) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Samples:
    """What a sampler saw on one path: (wall-clock time the GET was sent, answer)."""

    path: str
    sent: list[tuple[float, Answer]] = field(default_factory=list)

    @property
    def answers(self) -> list[Answer]:
        return [answer for _, answer in self.sent]

    def between(self, start: float, end: float) -> Samples:
        """The samples sent from ``start`` to ``end`` (``time.time()`` values)."""
        return Samples(self.path, [(t, a) for t, a in self.sent if start <= t <= end])

    def p99(self) -> float | None:
        """p99 seconds, an answer that never came counted at the time it was given up on."""
        return percentile([a.seconds for a in self.answers], 0.99)

    def failed(self) -> list[Answer]:
        return [a for a in self.answers if not succeeded(a.status)]


class ProbeSampler:
    """Samples each path in its own thread (a slow path does not slow the others) until :meth:`stop`."""

    def __init__(self, probe: Probe, paths: dict[str, tuple[str, float]], interval: float = 0.1) -> None:
        """``paths``: name -> (path, client timeout in seconds)."""
        self.probe, self.interval = probe, interval
        self.samples = {name: Samples(path) for name, (path, _) in paths.items()}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(name, path, timeout), daemon=True,
                                          name=f"artemis-probe-{name}") for name, (path, timeout) in paths.items()]

    def _run(self, name: str, path: str, timeout: float) -> None:
        while not self._stop.is_set():
            sent = time.time()
            self.samples[name].sent.append((sent, self.probe.get(path, timeout)))
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def wait_until_ok(probe: Probe, path: str, deadline: float, *, interval: float = 0.05, timeout: float = 1.0
                  ) -> tuple[Answer | None, int]:
    """Poll ``path`` until it succeeds or ``time.monotonic()`` passes ``deadline``: (the last answer, polls)."""
    last: Answer | None = None
    polls = 0
    while True:
        last = probe.get(path, timeout)
        polls += 1
        if succeeded(last.status) or time.monotonic() >= deadline:
            return last, polls
        time.sleep(interval)


@dataclass
class Shutdown:
    """What followed a SIGTERM; times in seconds after it (None: not seen)."""

    readiness_failed_at: float | None = None
    readiness_answer: Answer | None = None  # the first failing readiness answer
    exited_at: float | None = None
    exit_code: int | None = None
    in_flight: list[Answer] = field(default_factory=list)
    during_drain: list[Answer] = field(default_factory=list)  # requests sent while readiness failed

    def in_flight_failed(self) -> list[Answer]:
        return [a for a in self.in_flight if not succeeded(a.status)]


def watch_shutdown(probe: Probe, ready_path: str, *, send_signal: Callable[[int], None],
                   returncode: Callable[[], int | None], in_flight_path: str, in_flight: int = 4,
                   in_flight_timeout: float = 30.0, limit: float = 60.0, settle: float = 0.3) -> Shutdown:
    """Start ``in_flight`` slow requests, SIGTERM the process, and watch until it exits (at most ``limit`` s).

    Readiness is polled every 20 ms; a request to ``in_flight_path`` is sent every 100 ms while readiness
    fails and the process lives (a Service that has not yet dropped the endpoint still sends traffic).
    """
    shutdown = Shutdown()
    lock = threading.Lock()

    def slow() -> None:
        answer = probe.get(in_flight_path, in_flight_timeout)
        with lock:
            shutdown.in_flight.append(answer)

    workers = [threading.Thread(target=slow, daemon=True, name="artemis-in-flight") for _ in range(in_flight)]
    for worker in workers:
        worker.start()
    time.sleep(settle)  # the requests are on the wire and being served
    began = time.monotonic()
    send_signal(signal.SIGTERM)
    next_request = began
    while time.monotonic() - began < limit:
        code = returncode()
        if code is not None:
            shutdown.exited_at, shutdown.exit_code = time.monotonic() - began, code
            break
        answer = probe.get(ready_path, 1.0)
        failing = answer.status is not None and not succeeded(answer.status)
        if shutdown.readiness_failed_at is None and failing and returncode() is None:  # the living process said so
            shutdown.readiness_failed_at, shutdown.readiness_answer = time.monotonic() - began, answer
        if shutdown.readiness_failed_at is not None and time.monotonic() >= next_request:
            next_request = time.monotonic() + 0.1
            served = probe.get(in_flight_path, 2.0)
            if returncode() is None and served.status is not None:
                shutdown.during_drain.append(served)
        time.sleep(0.02)
    for worker in workers:
        worker.join(in_flight_timeout)
    return shutdown
