"""Inside a Locust child only: the one-second sample lines a process writes (see :mod:`pytest_artemis.load.child`).

:class:`Stream` listens to Locust's ``request`` event and buffers, per wall-clock second and endpoint, the request
count, failures and two histograms of unrounded times: from the actual send (``h``) and from the intended start
(``hc``, left out of a second in which no request started late, where it equals ``h``). It writes every finished
second as a JSON line with the process's users, CPU %, event-loop lag, what the runner's supervision reads
(``sent``, ``down``) and, in arrival mode, the dropped starts and requests in flight; and the ``event`` lines.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import psutil

from pytest_artemis.load import arrival
from pytest_artemis.load.locust_target import connect_failure
from pytest_artemis.load.results import Histogram
from pytest_artemis.redact import redact

__all__ = ["Interval", "Stream"]


class Interval:
    """Per-endpoint figures of one wall-clock second in this process."""

    def __init__(self) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.first = self.last = 0.0
        self.dropped = 0

    def add(self, name: str, ms: float, corrected_ms: float, failed: bool, error: str) -> None:
        now = time.time()
        self.first = self.first or now
        self.last = now
        entry = self.endpoints.get(name)
        if entry is None:
            entry = self.endpoints[name] = {"n": 0, "fail": 0, "sum": 0.0, "max": 0.0, "h": Histogram(),
                                            "hc": None, "errors": {}}
        entry["n"] += 1
        entry["sum"] += ms
        entry["max"] = max(entry["max"], ms)
        corrected = entry["hc"]
        if corrected is None and corrected_ms != ms:  # the first late start: every earlier one was on time
            corrected = entry["hc"] = Histogram(entry["h"].buckets)
        entry["h"].add(ms)
        if corrected is not None:
            corrected.add(corrected_ms)
        if failed:
            entry["fail"] += 1
            key = error[:160]
            entry["errors"][key] = entry["errors"].get(key, 0) + 1

    def as_json(self) -> dict[str, Any]:
        out = {}
        for name, e in self.endpoints.items():
            out[name] = {**e, "sum": round(e["sum"], 3), "max": round(e["max"], 3), "h": e["h"].as_json()}
            if e["hc"] is None:
                del out[name]["hc"]
            else:
                out[name]["hc"] = e["hc"].as_json()
        return out


class Stream:
    """Buffers request events per second and writes finished seconds as JSON lines."""

    def __init__(self, path: Path, role: str, echo: bool = False) -> None:
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self.echo = echo  # also to stdout: a pod's log is how an in-cluster run's lines reach the runner
        self.role = role
        self.seconds: dict[int, Interval] = {}
        self.process = psutil.Process()
        self.process.cpu_percent(None)
        self.runner: Any = None
        self.lags: list[float] = []
        self.sent = 0
        self.down: dict[str, Any] | None = None  # the run of requests that failed to connect, None when answered

    def on_request(self, request_type: str, name: str, response_time: float | None, exception: Any = None,
                   response: Any = None, **_: Any) -> None:
        now = time.time()
        second = int(now)
        interval = self.seconds.get(second)
        if interval is None:
            interval = self.seconds[second] = Interval()
        error = "" if exception is None else redact(f"{type(exception).__name__}: {exception}")
        ms = float(response_time or 0.0)
        interval.add(redact(f"{request_type} {name}"), ms, ms + arrival.lateness_ms(), exception is not None, error)
        self.sent += 1
        refused = connect_failure(exception, response)
        if refused is None:
            self.down = None
        elif self.down is None:
            self.down = {"since": now, "n": 1, "error": redact(f"{type(refused).__name__}: {refused}")[:160]}
        else:
            self.down["n"] += 1

    def on_dropped(self, due: float) -> None:
        """Arrival mode: the start scheduled at ``due`` (wall clock) found the in-flight bound exhausted."""
        second = int(due)
        interval = self.seconds.get(second)
        if interval is None:
            interval = self.seconds[second] = Interval()
        interval.dropped += 1

    def write(self, data: dict[str, Any]) -> None:
        line = json.dumps(data) + "\n"
        self._file.write(line)
        if self.echo:
            sys.stdout.write(line)
            sys.stdout.flush()

    def event(self, kind: str, **data: Any) -> None:
        self.write({"event": kind, "role": self.role, "pid": os.getpid(), "time": time.time(), **data})

    def flush(self, final: bool = False) -> None:
        now = int(time.time())
        cpu = self.process.cpu_percent(None)
        users = self.runner.user_count if self.runner is not None and self.role != "master" else 0
        lag = round(sum(self.lags) / len(self.lags), 3) if self.lags else 0.0
        self.lags.clear()
        state: dict[str, Any] = {} if self.role == "master" else {"sent": self.sent, "down": self.down}
        schedule = arrival.state.schedule
        if schedule is not None:  # arrival mode: the connections are the users
            users = len(schedule.workers)
            state["in_flight"] = schedule.pending
        due = sorted(s for s in self.seconds if final or s < now)
        if not due and not final:
            due_line = {"t": now - 1, "role": self.role, "users": users, "cpu": cpu, "lag_ms": lag, "endpoints": {},
                        **state}
            self.write(due_line)
            return
        for second in due:
            interval = self.seconds.pop(second)
            dropped = {"dropped": interval.dropped} if interval.dropped else {}
            self.write({"t": second, "role": self.role, "users": users, "cpu": cpu, "lag_ms": lag,
                        "first": interval.first, "last": interval.last, "endpoints": interval.as_json(), **state,
                        **dropped})

    def loop(self) -> None:
        while True:
            gevent.sleep(1.0 - (time.time() % 1.0) + 0.01)
            self.flush()

    def probe_lag(self, period: float = 0.05) -> None:
        """Measure how late the gevent loop wakes a sleeper: a busy or CPU-starved generator wakes late."""
        while True:
            began = time.perf_counter()
            gevent.sleep(period)
            self.lags.append(max(0.0, time.perf_counter() - began - period) * 1000)
