"""The live window monitor: a rolling SLO over the last N seconds, fed one sample at a time.

The runner feeds it while Locust runs (aborting the run on a sustained breach); the window gate replays
a finished run through a fresh one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pytest_artemis.load.results import Sample, Summary

__all__ = ["Breach", "WindowMonitor"]


@dataclass(frozen=True)
class Breach:
    start: float
    end: float
    value: float


class WindowMonitor:
    """A rolling SLO over the last ``window`` seconds, fed one sample at a time (live or afterwards).

    ``breached_for`` is how long the SLO has been broken without a break; :attr:`abort` is set once it
    was broken for ``abort_after`` seconds in a row (None: never abort).
    """

    def __init__(self, metric: str, limit: float, window: float = 10.0, abort_after: float | None = None,
                 min_requests: int = 20) -> None:
        if metric not in ("p95_ms", "p99_ms", "error_rate_percent"):
            raise ValueError(f"window metric {metric!r}: expected p95_ms, p99_ms or error_rate_percent")
        self.metric, self.limit, self.window = metric, limit, max(1.0, window)
        self.abort_after, self.min_requests = abort_after, min_requests
        self._recent: deque[Sample] = deque()
        self.worst: Breach | None = None
        self.highest: Breach | None = None  # the highest full-window value, broken or not
        self.first_breach: Breach | None = None
        self.breached_for = 0.0
        self.abort: Breach | None = None

    def _value(self, total: Summary) -> float | None:
        if total.requests < self.min_requests:
            return None
        if self.metric == "error_rate_percent":
            return total.error_rate_percent
        return total.p(95 if self.metric == "p95_ms" else 99)

    def feed(self, sample: Sample) -> Breach | None:
        """Add one second; returns the breach of the window ending with it, if any."""
        self._recent.append(sample)
        while self._recent and self._recent[0].t <= sample.t - self.window:
            self._recent.popleft()
        if sample.t + 1 - self._recent[0].t < self.window:
            return None  # not yet a full window
        total = Summary()
        for s in self._recent:
            total.add(s.total)
        value = self._value(total)
        if value is not None and (self.highest is None or value > self.highest.value):
            self.highest = Breach(self._recent[0].t, sample.t + 1, value)
        if value is None or value <= self.limit:
            self.breached_for = 0.0
            return None
        breach = Breach(self._recent[0].t, sample.t + 1, value)
        self.first_breach = self.first_breach or breach
        if self.worst is None or value > self.worst.value:
            self.worst = breach
        self.breached_for += 1.0
        if self.abort_after is not None and self.abort is None and self.breached_for >= self.abort_after:
            self.abort = breach
        return breach

    def describe(self, breach: Breach) -> str:
        unit = "%" if self.metric == "error_rate_percent" else "ms"
        return (f"{self.metric.split('_ms')[0].replace('_percent', '').replace('_', ' ')} {breach.value:,.1f} {unit} "
                f"> limit {self.limit:,.1f} {unit} in the {self.window:g} s window {breach.start:g}-{breach.end:g} s")
