"""Supervision of a running load: lost Locust workers make the run invalid, a target that is down aborts it.

* :class:`WorkerWatch` - in distributed mode (a master plus N workers) a worker is *lost* when its process
  exits before the master announced the end of the run, when Locust's master stops counting it (it missed
  its heartbeats and was marked ``missing``, or it quit), or when it never connected to the master within
  the bound. The first loss is the run's :attr:`~pytest_artemis.load.results.RunResult.invalid` reason,
  one line naming the worker, its pid and when it was lost; every loss is kept in
  :attr:`~pytest_artemis.load.results.RunResult.lost_workers`.
* :class:`TargetDownWatch` - every process that sends load reports, once a second, whether its latest
  requests all failed to *connect* and since when (``"down"`` in its sample line). When every such process
  has seen nothing but connection failures for ``seconds``, the target is down and the run is aborted.

Both only read the events and sample lines the children write (see :mod:`pytest_artemis.load.child`) and
the workers' exit codes; the runner (:mod:`pytest_artemis.load.runner`) acts on what they find.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LostWorker", "TargetDownWatch", "WorkerWatch"]


@dataclass(frozen=True)
class LostWorker:
    """One Locust worker the run lost: role (``worker-2``), pid, seconds since start (None: before it), how."""

    role: str
    pid: int | None
    t: float | None
    how: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "its process exited"
    if code < 0:
        try:
            return f"its process was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"its process was killed by signal {-code}"
    return f"its process exited with code {code}"


class WorkerWatch:
    """Notices lost workers from their exit codes and the master's ``worker_lost``/``workers_short`` events."""

    def __init__(self, pids: Mapping[str, int | None]) -> None:
        self.pids = dict(pids)  # worker role -> pid
        self.client_roles: dict[str, str] = {}  # Locust client id -> worker role
        self.lost: list[LostWorker] = []
        self.invalid = ""
        self.stopping = False  # the master announced the end: workers quit now, that is no loss
        self._seen = 0

    @property
    def expected(self) -> int:
        return len(self.pids)

    def _name(self, role: str) -> str:
        number = role.removeprefix("worker-")
        pid = self.pids.get(role)
        return f"worker {number} (pid {pid})" if pid is not None else f"worker {number}"

    def _lose(self, role: str, t: float | None, how: str, reason: str | None = None) -> None:
        if any(lost.role == role for lost in self.lost):
            return
        self.lost.append(LostWorker(role, self.pids.get(role), None if t is None else round(t, 3), how))
        if reason is None:
            left = self.expected - len(self.lost)
            when = f"at t={t:.1f} s" if t is not None else "before the run started"
            reason = f"{self._name(role)} lost {when}: {left} of {self.expected} workers left ({how})"
        if not self.invalid:
            self.invalid = reason

    def events(self, events: list[dict[str, Any]], started: float | None) -> None:
        """Read the events not read yet (the master's and the workers')."""
        new = events[self._seen:]
        for event in new:  # first: which worker is which (its line may be read after the master's)
            if event.get("event") == "worker-started" and event.get("client_id"):
                self.client_roles[str(event["client_id"])] = str(event["role"])
        for event in new:
            kind = event.get("event")
            if kind == "stopping" and event.get("role") == "master":
                self.stopping = True
            elif kind == "worker_lost" and not self.stopping:
                client = str(event.get("client_id", ""))
                role = self.client_roles.get(client, f"worker-? (Locust id {client})")
                t = float(event["time"]) - started if started is not None else None
                how = ("it stopped sending heartbeats; Locust's master marked it missing"
                       if event.get("how") == "missing" else "it left the master (quit)")
                self._lose(role, t, how)
            elif kind == "workers_short":
                self._short(event)
        self._seen = len(events)

    def _short(self, event: dict[str, Any]) -> None:
        connected = {str(c) for c in event.get("connected", [])}
        waited = float(event.get("waited", 0))
        count = len(connected)
        for role in self.pids:
            clients = [c for c, r in self.client_roles.items() if r == role]
            if clients and clients[0] in connected:
                continue
            self._lose(role, None, f"it never connected within {waited:g} s",
                       f"{self._name(role)} never connected to the master within {waited:g} s: {count} of "
                       f"{self.expected} workers connected; no load was sent")

    def exited(self, role: str, code: int | None, elapsed: float | None) -> None:
        """A worker's process is gone (``elapsed``: seconds since the run started, None before it started)."""
        if not self.stopping:
            self._lose(role, elapsed, _exit_text(code))


class TargetDownWatch:
    """Aborts when every load-sending process saw only connection failures for ``seconds``."""

    def __init__(self, seconds: float, shown_target: str) -> None:
        self.seconds, self.shown_target = seconds, shown_target
        self.state: dict[str, dict[str, Any] | None] = {}  # role -> latest "down" report (None: connecting)
        self.down_at: float | None = None  # epoch seconds: since when every process failed to connect

    def feed(self, line: Mapping[str, Any]) -> None:
        """A sample line of a child; only processes that have sent requests count."""
        if "down" not in line or not line.get("sent"):
            return
        self.state[str(line.get("role", "local"))] = line["down"]

    def check(self, now: float, started: float) -> str:
        """The abort reason when the target is down for ``seconds`` now, else ''."""
        if self.seconds <= 0 or not self.state or any(d is None for d in self.state.values()):
            return ""
        downs = [d for d in self.state.values() if d is not None]
        since = max(float(d["since"]) for d in downs)
        if now - since < self.seconds:
            return ""
        self.down_at = since
        failed = sum(int(d.get("n", 0)) for d in downs)
        errors = sorted({str(d.get("error", "")) for d in downs if d.get("error")})
        why = f" ({'; '.join(errors)})" if errors else ""
        return (f"target down at t={since - started:.1f} s: {failed} requests in a row failed to connect to "
                f"{self.shown_target}{why} for {now - since:.1f} s (bound {self.seconds:g} s); "
                f"stopped the run at t={now - started:.1f} s")
