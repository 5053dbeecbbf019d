"""Typed results of a load run: latency histograms, one-second samples, per-endpoint summaries.

Locust rounds the response times it stores (1 ms below 100 ms, 10 ms below 1 s, 100 ms above). The
Locust child processes therefore record every request's *unrounded* time (from Locust's ``request``
event) into a :class:`Histogram` with 1 % wide logarithmic buckets: percentiles are exact to within
0.5 % at any latency, and histograms of several processes and seconds merge losslessly. Each process
writes one JSON line per second (:func:`parse_line`); :func:`merge_samples` folds the lines of all
processes into :class:`Sample` objects, and :class:`RunResult` answers every question a gate asks.

Every request is timed twice: from its actual send (Locust's response time: ``histogram``, "uncorrected")
and from its intended start (``corrected``: the send time plus how late the request started against its
schedule, which is where coordinated omission hides). A summary built for an arrival-mode run
(``from_intended``) answers :meth:`Summary.p` from the corrected histogram, so every latency gate judges it;
the uncorrected figures stay beside it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RESOLUTION", "Histogram", "RunResult", "Sample", "Summary", "merge_samples", "parse_line"]

_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)
_FLOOR_MS = 0.001
#: Stated resolution of every percentile this package reports.
RESOLUTION = "unrounded per-request times in 1% buckets (percentiles within 0.5%)"


class Histogram:
    """Counts of response times (ms) in logarithmic buckets 1 % wide; mergeable."""

    __slots__ = ("buckets", "count")

    def __init__(self, buckets: Mapping[int, int] | None = None) -> None:
        self.buckets: dict[int, int] = dict(buckets or {})
        self.count = sum(self.buckets.values())

    @staticmethod
    def bucket_of(ms: float) -> int:
        if ms <= _FLOOR_MS:
            return 0
        return int(math.log(ms / _FLOOR_MS) / _LOG_GROWTH) + 1

    @staticmethod
    def value_of(bucket: int) -> float:
        if bucket <= 0:
            return _FLOOR_MS
        return _FLOOR_MS * _GROWTH ** (bucket - 0.5)

    def add(self, ms: float) -> None:
        b = self.bucket_of(ms)
        self.buckets[b] = self.buckets.get(b, 0) + 1
        self.count += 1

    def merge(self, other: Histogram) -> Histogram:
        for b, n in other.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + n
        self.count += other.count
        return self

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile (q in 0..100) in ms, None when empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return self.value_of(b)
        return self.value_of(max(self.buckets))

    def as_json(self) -> dict[str, int]:
        return {str(b): n for b, n in self.buckets.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, int]) -> Histogram:
        return cls({int(b): int(n) for b, n in data.items()})


@dataclass
class Summary:
    """Requests, failures and latency of one endpoint (or all) over some time."""

    requests: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    histogram: Histogram = field(default_factory=Histogram)  # from the actual send (uncorrected)
    errors: dict[str, int] = field(default_factory=dict)
    corrected: Histogram = field(default_factory=Histogram)  # from the intended start
    from_intended: bool = False  # p() reads the corrected histogram (arrival mode)

    def add(self, other: Summary) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.total_ms += other.total_ms
        self.max_ms = max(self.max_ms, other.max_ms)
        self.histogram.merge(other.histogram)
        self.corrected.merge(other.corrected)
        self.from_intended = self.from_intended or other.from_intended
        for message, n in other.errors.items():
            self.errors[message] = self.errors.get(message, 0) + n

    @property
    def error_rate_percent(self) -> float:
        return 100.0 * self.failures / self.requests if self.requests else 0.0

    @property
    def mean_ms(self) -> float | None:
        return self.total_ms / self.requests if self.requests else None

    def p(self, q: float) -> float | None:
        """The percentile the gates judge: corrected in arrival mode, else from the actual send."""
        return self.p_corrected(q) if self.from_intended else self.histogram.percentile(q)

    def p_uncorrected(self, q: float) -> float | None:
        """Percentile of the times from each request's actual send."""
        return self.histogram.percentile(q)

    def p_corrected(self, q: float) -> float | None:
        """Percentile of the times from each request's intended start."""
        return self.corrected.percentile(q)

    def figures(self, seconds: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests, "failures": self.failures,
            "error_rate_percent": round(self.error_rate_percent, 4),
            "p50_ms": _r(self.p(50)), "p95_ms": _r(self.p(95)), "p99_ms": _r(self.p(99)),
            "mean_ms": _r(self.mean_ms), "max_ms": _r(self.max_ms),
        }
        if self.from_intended:  # p50/p95/p99 above are corrected; the times from the actual send beside them
            out.update({f"p{q}_ms_uncorrected": _r(self.p_uncorrected(q)) for q in (50, 95, 99)})
        if seconds:
            out["rps"] = round(self.requests / seconds, 2)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], from_intended: bool = False) -> Summary:
        """A summary from a sample line's endpoint entry (``h``: from the send; ``hc``: from the intended start,
        the same as ``h`` in lines that have none)."""
        sent = data.get("h", {})
        return cls(int(data["n"]), int(data.get("fail", 0)), float(data.get("sum", 0.0)), float(data.get("max", 0.0)),
                   Histogram.from_json(sent), dict(data.get("errors", {})),
                   Histogram.from_json(data.get("hc", sent)), from_intended)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class Sample:
    """One second of the run, all Locust processes merged."""

    t: float  # seconds since the run started (start of the second)
    users: int = 0
    total: Summary = field(default_factory=Summary)
    endpoints: dict[str, Summary] = field(default_factory=dict)
    cpu_percent: dict[str, float] = field(default_factory=dict)
    lag_ms: dict[str, float] = field(default_factory=dict)  # mean lateness of the generator's event loop
    first: float | None = None  # when the first / last request of this second ended (seconds since start)
    last: float | None = None
    dropped: int = 0  # arrival mode: scheduled starts dropped this second (the in-flight bound was exhausted)
    in_flight: int = 0  # arrival mode: requests started and unfinished at the end of this second

    @property
    def rps(self) -> float:
        return float(self.total.requests)

    def as_dict(self) -> dict[str, Any]:
        extra = {"dropped": self.dropped, "in_flight": self.in_flight} if self.total.from_intended else {}
        return {"t": self.t, "users": self.users, **self.total.figures(1.0), **extra,
                "cpu_percent": self.cpu_percent, "lag_ms": self.lag_ms,
                "endpoints": {k: v.figures(1.0) for k, v in sorted(self.endpoints.items())}}


def parse_line(line: str) -> dict[str, Any] | None:
    """One JSON sample line of a Locust child, None for anything else (partial lines, log noise)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and "t" in data else None


def merge_samples(lines: Iterable[Mapping[str, Any]], started: float, corrected: bool = False) -> list[Sample]:
    """Fold per-process per-second lines into one :class:`Sample` per second since ``started``.

    ``corrected``: an arrival-mode run, whose summaries answer percentiles from the intended starts.
    """
    by_second: dict[int, Sample] = {}
    users: dict[int, dict[str, int]] = {}
    for line in lines:
        second = int(line["t"])
        if second < int(started) and not line.get("endpoints") and not line.get("dropped"):
            continue  # a worker's idle second before the run started
        sample = by_second.setdefault(second, Sample(round(second - int(started), 3)))
        if corrected:
            sample.total.from_intended = True
        sample.dropped += int(line.get("dropped", 0))
        sample.in_flight += int(line.get("in_flight", 0))
        role = str(line.get("role", "local"))
        users.setdefault(second, {})[role] = int(line.get("users", 0))
        if "cpu" in line:
            sample.cpu_percent[role] = max(sample.cpu_percent.get(role, 0.0), float(line["cpu"]))
        if line.get("first"):
            first, last = float(line["first"]) - started, float(line["last"]) - started
            sample.first = first if sample.first is None else min(sample.first, first)
            sample.last = last if sample.last is None else max(sample.last, last)
        if "lag_ms" in line:
            sample.lag_ms[role] = max(sample.lag_ms.get(role, 0.0), float(line["lag_ms"]))
        for name, data in line.get("endpoints", {}).items():
            summary = Summary.from_json(data, corrected)
            sample.endpoints.setdefault(name, Summary()).add(summary)
            sample.total.add(summary)
    for second, sample in by_second.items():
        sample.users = sum(users.get(second, {}).values())
    return [by_second[s] for s in sorted(by_second)]


@dataclass
class RunResult:
    """Everything a load run produced, for gates and reports."""

    plan: Any
    samples: list[Sample]
    started: float
    ended: float
    health: list[tuple[float, bool]] = field(default_factory=list)  # (seconds since start, ok)
    memory: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, resident bytes)
    cpu_warnings: list[str] = field(default_factory=list)  # roles for which Locust warned about CPU
    aborted: str = ""  # why the run stopped early (sustained SLO breach, target down), "" when it ran to its end
    end_reason: str = ""  # how Locust ended: shape finished, request budget spent, time bound reached, terminated
    fault_log: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    target: str = ""
    memory_source: str = ""  # where resident memory was read (Prometheus query or the target's /metrics)
    #: Why the run's figures cannot be trusted, '' when they can: a Locust worker was lost (its process died,
    #: it missed its heartbeats and the master marked it missing, or it never connected within the bound).
    #: One line naming the worker, its pid and when: "worker 2 (pid 1234) lost at t=3.0 s: 1 of 2 workers
    #: left (its process was killed by SIGKILL)". The run is stopped early; every statistic so far is kept.
    invalid: str = ""
    #: Every worker lost: {"role": "worker-2", "pid": 1234, "t": 3.0 (None: before the start), "how": "..."}.
    lost_workers: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds since the start from which every request failed to connect, when that aborted the run
    #: (:attr:`aborted` then starts with "target down at t="); None otherwise.
    target_down_at: float | None = None

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def arrival(self) -> bool:
        """An arrival-mode run (requests started on a fixed schedule; latency gates judge corrected times)."""
        return getattr(self.plan, "mode", "closed") == "arrival"

    @property
    def dropped_iterations(self) -> int:
        """Scheduled starts dropped because the in-flight bound was exhausted (arrival mode)."""
        return sum(s.dropped for s in self.samples)

    @property
    def first_dropped_at(self) -> float | None:
        return next((s.t for s in self.samples if s.dropped), None)

    def window(self, start: float = 0.0, end: float = math.inf) -> tuple[Summary, dict[str, Summary], float]:
        """Totals, per-endpoint totals and covered seconds of the samples with start <= t < end."""
        total, seconds = Summary(from_intended=self.arrival), 0.0
        per_endpoint: dict[str, Summary] = {}
        for sample in self.samples:
            if start <= sample.t < end:
                seconds += 1
                total.add(sample.total)
                for name, summary in sample.endpoints.items():
                    per_endpoint.setdefault(name, Summary(from_intended=self.arrival)).add(summary)
        return total, per_endpoint, seconds

    @property
    def total(self) -> Summary:
        return self.window()[0]

    @property
    def endpoints(self) -> dict[str, Summary]:
        return self.window()[1]

    @property
    def active_seconds(self) -> float:
        """Seconds from the first to the last second that saw a request (the throughput denominator)."""
        busy = [s.t for s in self.samples if s.total.requests]
        return (busy[-1] - busy[0] + 1) if busy else 0.0

    @property
    def load_seconds(self) -> float:
        """From the start of the run to the last answered request (stopping the generator does not count)."""
        ends = [s.last for s in self.samples if s.last is not None]
        return max(ends) if ends else self.duration

    @property
    def rps(self) -> float:
        """Requests per second over :attr:`load_seconds`."""
        seconds = self.load_seconds
        return self.total.requests / seconds if seconds > 0 else 0.0

    @property
    def availability_percent(self) -> float | None:
        if not self.health:
            return None
        return 100.0 * sum(1 for _, ok in self.health if ok) / len(self.health)

    def _peak(self, per_role: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for sample in self.samples:
            for role, value in getattr(sample, per_role).items():
                out[role] = max(out.get(role, 0.0), value)
        return out

    @property
    def peak_cpu_percent(self) -> dict[str, float]:
        """Highest CPU % of each Locust process (100 = one core)."""
        return self._peak("cpu_percent")

    @property
    def peak_lag_ms(self) -> dict[str, float]:
        """Highest per-second mean event-loop lateness of each Locust process."""
        return self._peak("lag_ms")

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": getattr(self.plan, "scenario", ""), "target": self.target,
            "duration_s": round(self.duration, 3), "aborted": self.aborted, "end_reason": self.end_reason,
            "invalid": self.invalid,
            "resolution": RESOLUTION,
            **({"mode": "arrival", "dropped_iterations": self.dropped_iterations} if self.arrival else {}),
            **self.total.figures(), "rps": round(self.rps, 2),
            "availability_percent": _r(self.availability_percent),
            "endpoints": {k: v.figures(self.load_seconds or None) for k, v in sorted(self.endpoints.items())},
            "peak_cpu_percent": self.peak_cpu_percent,
            "peak_loop_lag_ms": self.peak_lag_ms, "cpu_warnings": self.cpu_warnings,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.as_dict() if hasattr(self.plan, "as_dict") else None,
            "summary": self.summary(),
            "samples": [s.as_dict() for s in self.samples],
            "health": [{"t": round(t, 3), "ok": ok} for t, ok in self.health],
            "memory": [{"t": round(t, 3), "bytes": b} for t, b in self.memory],
            "faults": self.fault_log,
        }
