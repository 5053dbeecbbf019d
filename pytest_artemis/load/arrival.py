"""Arrival mode inside a Locust child process: requests start on a fixed schedule whatever the answers do.

Imported by :mod:`pytest_artemis.load.child` (and the default user mix) only, after Locust.

* :func:`record_lateness` / :func:`lateness_ms` - how late the request the current greenlet sends started
  against its schedule. The child adds it to Locust's response time (from the actual send) to time the request
  from its intended start ("corrected"). The default users' pacing records it in closed mode too.
* :class:`Schedule` - one process's share of the plan's arrival schedule
  (:func:`~pytest_artemis.load.shapes.arrival_times`): a scheduler greenlet hands each intended start to a
  queue at its time; connection greenlets (each one instance of the user class, so one keep-alive connection,
  created as needed up to this process's share of the plan's users) take the starts in order and run one task
  of their user for each. A start that finds ``in_flight`` requests already started and unfinished (queued for
  a connection or on the wire) is a dropped iteration, counted (in the second it was due) and reported; nothing
  waits for it, and a scheduler behind its schedule drops what is overdue without yielding in between.
* :class:`ArrivalDriver` - the one Locust user each process runs in arrival mode: it plays the schedule,
  waits (bounded) for the last answers and tells the master (or the local runner) that its share is done.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
from gevent.queue import Queue
from greenlet import getcurrent
from locust import User, constant, task
from locust.user.task import TaskSet

__all__ = ["DONE_MESSAGE", "DRAIN_SECONDS", "ArrivalDriver", "Schedule", "configure", "lateness_ms",
           "record_lateness", "state"]

#: Custom Locust message a process sends when its share of the schedule is done.
DONE_MESSAGE = "artemis_arrival_done"
#: How long a process waits for its last answers after its last scheduled start.
DRAIN_SECONDS = 5.0



def record_lateness(ms: float) -> None:
    """The request(s) the current greenlet sends next started ``ms`` after their intended start."""
    getcurrent().artemis_late_ms = ms  # an attribute of the greenlet: cheap, and gone with it


def lateness_ms() -> float:
    """How late the current greenlet's request started against its schedule (0 when it has none)."""
    return getattr(getcurrent(), "artemis_late_ms", 0.0)


def _one_task(owner: Any) -> None:
    """Run one task of a user (or TaskSet): a function task directly, a nested TaskSet's own one task."""
    chosen = random.choice(owner.tasks)
    if isinstance(chosen, type) and issubclass(chosen, TaskSet):
        nested = owner.__dict__.setdefault("_artemis_tasksets", {})
        instance = nested.get(chosen)
        if instance is None:
            instance = nested[chosen] = chosen(owner)
        _one_task(instance)
    else:
        chosen(owner)


class Schedule:
    """One process's share of the schedule: intended starts, connections, the in-flight bound, dropped starts."""

    def __init__(self, environment: Any, classes: list[type], times: Iterator[float], connections: int,
                 in_flight: int, on_drop: Callable[[float], None] | None = None) -> None:
        self.environment, self.classes, self.times = environment, classes, times
        self.connections, self.in_flight = max(1, connections), max(1, in_flight)
        self.on_drop = on_drop
        self.queue: Queue[float] = Queue()
        self.created = self.busy = self.dropped = self.started = 0
        self.users: list[Any] = []
        self.workers: list[gevent.Greenlet] = []
        self.t0 = self.wall0 = 0.0
        self.errors = 0

    @property
    def pending(self) -> int:
        """Requests started on schedule and not finished (waiting for a connection or on the wire)."""
        return self.queue.qsize() + self.busy

    def _new_user(self) -> Any:
        weights = [max(0, int(getattr(c, "weight", 1) or 0)) for c in self.classes]
        cls = random.choices(self.classes, weights)[0] if sum(weights) else self.classes[0]
        user = cls(self.environment)
        self.users.append(user)
        user.on_start()
        return user

    def _connection(self) -> None:
        user = self._new_user()
        queue, now = self.queue, time.perf_counter
        while True:
            due = queue.get()
            self.busy += 1
            try:
                record_lateness(max(0.0, (now() - due) * 1000))
                _one_task(user)
            except gevent.GreenletExit:
                raise
            except Exception as err:  # noqa: BLE001 - a failing task is the user code's error, as in Locust
                self.errors += 1
                self.environment.events.user_error.fire(user_instance=user, exception=err, tb=err.__traceback__)
            finally:
                self.busy -= 1

    def run(self) -> None:
        """Start every scheduled request at its time (or drop it), then wait up to DRAIN_SECONDS for the answers."""
        now, sleep = time.perf_counter, gevent.sleep
        self.t0 = t0 = now()
        self.wall0 = time.time()
        for offset in self.times:
            due = t0 + offset
            left = due - now()
            behind = left <= 0
            while left > 0:
                sleep(left)
                left = due - now()
            if self.queue.qsize() + self.busy >= self.in_flight:
                self.dropped += 1  # due now, and no room: dropped, not sent late
                if self.on_drop is not None:
                    self.on_drop(self.wall0 + offset)
                continue
            self.queue.put(due)
            self.started += 1
            if self.queue.qsize() > len(self.workers) - self.busy and len(self.workers) < self.connections:
                self.workers.append(gevent.spawn(self._connection))
            if behind:
                sleep(0)  # behind the schedule: let the connections run before the next start
        deadline = now() + DRAIN_SECONDS
        while self.pending and now() < deadline:
            sleep(0.01)

    def stop(self) -> None:
        """Kill the connection greenlets and run the users' on_stop."""
        gevent.killall(self.workers, block=True, timeout=2)
        for user in self.users:
            try:
                user.on_stop()
            except Exception:  # noqa: BLE001, S110 - best effort at shutdown
                pass


class _State:
    """What the child set up for this process, and the schedule while it runs."""

    def __init__(self) -> None:
        self.spec: dict[str, Any] = {}
        self.classes: list[type] = []
        self.index, self.processes = 0, 1
        self.on_drop: Callable[[float], None] | None = None
        self.schedule: Schedule | None = None
        self.done = 0  # processes that reported their share done (on the master or the local runner)


state = _State()


def configure(spec: dict[str, Any], role: str, classes: list[type], on_drop: Callable[[float], None] | None) -> None:
    """Set this process's part of the run (called by the child before Locust starts)."""
    state.spec, state.classes, state.on_drop = spec, classes, on_drop
    state.processes = max(1, int(spec.get("workers") or 0))
    state.index = int(role.split("-", 1)[1]) - 1 if role.startswith("worker-") else 0


def on_done(environment: Any, msg: Any, **_: Any) -> None:
    """Master / local runner: one process finished its share of the schedule."""
    state.done += 1


class ArrivalDriver(User):
    """Plays this process's share of the arrival schedule once, then idles until the run stops."""

    wait_time = constant(3600)

    @task
    def drive(self) -> None:
        if state.schedule is not None:  # one schedule per process, whatever Locust hands out
            return
        from pytest_artemis.load.shapes import Shape, arrival_times, share

        spec = state.spec
        for cls in state.classes:  # as Locust's runners do for the classes they spawn themselves
            if self.environment.host:
                setattr(cls, "host", self.environment.host)  # noqa: B010 - any user class, not only User's
        shape = Shape.from_dict(spec["shape"])
        times = arrival_times(shape, float(spec["rate_per_user"]), state.index, state.processes,
                              spec.get("request_budget"))
        schedule = state.schedule = Schedule(
            self.environment, state.classes, times, share(shape.max_users, state.index, state.processes),
            share(int(spec["in_flight"]), state.index, state.processes), state.on_drop)
        try:
            schedule.run()
            self.environment.runner.send_message(DONE_MESSAGE, {"index": state.index, "dropped": schedule.dropped})
        finally:
            schedule.stop()
