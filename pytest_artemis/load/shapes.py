"""Load shapes: how many users run at each second of a scenario.

A shape is a list of :class:`Stage` (run until ``until`` seconds with ``users`` users, spawned at
``spawn_rate`` per second). :meth:`Shape.tick` answers Locust's question "how many users now?" the
way Locust's ``LoadTestShape.tick`` does: ``(users, spawn_rate)`` or ``None`` when the run is over.
Shapes are plain data (no Locust import) so the pytest process plans them and the Locust child
process replays them from JSON.

In arrival mode the same stages give request *rates* (users x rate per user): :func:`arrival_times` is the
schedule of intended starts, one request every 1/rate seconds with the phase carried across stage
boundaries, and :func:`share` splits a count over the Locust processes (process i of P takes requests
i, i + P, i + 2P ...).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pytest_artemis.errors import LoadError

__all__ = ["Shape", "Stage", "arrival_times", "constant", "planned_requests", "random_walk", "share", "spike", "steps"]


@dataclass(frozen=True)
class Stage:
    """Hold ``users`` users (spawned at ``spawn_rate``/s) until ``until`` seconds into the run."""

    until: float
    users: int
    spawn_rate: float
    label: str = ""


@dataclass(frozen=True)
class Shape:
    """A sequence of stages; the run ends after the last one."""

    stages: tuple[Stage, ...]
    name: str = "constant"
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.stages:
            raise LoadError("a load shape needs at least one stage")
        previous = 0.0
        for stage in self.stages:
            if stage.until <= previous:
                raise LoadError(f"load shape {self.name}: stage ends must increase, got {stage.until} s "
                                f"after {previous} s")
            if stage.users < 0 or stage.spawn_rate <= 0:
                raise LoadError(f"load shape {self.name}: stage at {stage.until} s needs users >= 0 and "
                                f"spawn_rate > 0, got {stage.users} users at {stage.spawn_rate}/s")
            previous = stage.until

    @property
    def duration(self) -> float:
        return self.stages[-1].until

    @property
    def max_users(self) -> int:
        return max(stage.users for stage in self.stages)

    def stage_at(self, run_time: float) -> Stage | None:
        for stage in self.stages:
            if run_time < stage.until:
                return stage
        return None

    def tick(self, run_time: float) -> tuple[int, float] | None:
        stage = self.stage_at(run_time)
        return None if stage is None else (stage.users, stage.spawn_rate)

    def windows(self) -> list[tuple[float, float, Stage]]:
        """(start, end, stage) of every stage."""
        out, start = [], 0.0
        for stage in self.stages:
            out.append((start, stage.until, stage))
            start = stage.until
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed, "stages": [asdict(s) for s in self.stages]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Shape:
        return cls(tuple(Stage(**s) for s in data["stages"]), data.get("name", "constant"), data.get("seed"))


def constant(users: int, duration: float, spawn_rate: float | None = None) -> Shape:
    """``users`` users for ``duration`` seconds (all spawned within about a second)."""
    return Shape((Stage(duration, users, spawn_rate or max(users, 1), "steady"),), "constant")


def spike(users: int, normal: float, spike_for: float, recovery: float, factor: int = 5) -> Shape:
    """Normal load, a sudden ``factor``x spike, then normal load again to watch recovery."""
    return Shape(
        (
            Stage(normal, users, max(users, 1), "normal"),
            Stage(normal + spike_for, users * factor, max(users * factor, 1), "spike"),
            Stage(normal + spike_for + recovery, users, max(users * factor, 1), "recovery"),
        ),
        "spike",
    )


def steps(start: int, stop: int, step: int, step_seconds: float) -> Shape:
    """Users stepped from ``start`` to ``stop`` by ``step``, ``step_seconds`` each."""
    counts = list(range(start, stop + 1, step))
    if counts[-1] != stop:
        counts.append(stop)
    return Shape(
        tuple(Stage(step_seconds * (i + 1), n, max(n, 1), f"{n} users") for i, n in enumerate(counts)),
        "steps",
    )


def random_walk(seed: int, max_users: int, duration: float, segment: Sequence[float] = (1.0, 3.0)) -> Shape:
    """A random load pattern reproducible from ``seed``: segments of random length and user count."""
    rng = random.Random(seed)
    stages, t = [], 0.0
    low = max(1, max_users // 5)
    while t < duration:
        length = round(min(rng.uniform(*segment), duration - t), 3)
        if length <= 0.05:
            break
        t = round(t + length, 3)
        users = rng.randint(low, max_users)
        stages.append(Stage(t, users, float(max(users, 1)), f"random {users} users"))
    return Shape(tuple(stages), "random", seed)


def planned_requests(shape: Shape, rate_per_user: float, budget: int | None = None) -> int:
    """Requests the arrival schedule of ``shape`` starts in all (at most ``budget``)."""
    total = 0.0
    for start, end, stage in shape.windows():
        total += stage.users * rate_per_user * (end - start)
    count = math.ceil(total - 1e-9)
    return count if budget is None else min(count, budget)


def arrival_times(shape: Shape, rate_per_user: float, index: int = 0, processes: int = 1,
                  budget: int | None = None) -> Iterator[float]:
    """Intended starts (seconds since the run's start) of the requests process ``index`` of ``processes`` sends.

    Each stage starts requests at ``users x rate_per_user`` per second, evenly spaced: request k of the whole
    run starts when the cumulative planned count reaches k (so a stage boundary keeps the phase). Process
    ``index`` takes requests ``index``, ``index + processes`` ...; ``budget`` caps the run's total.
    """
    if rate_per_user <= 0:
        raise LoadError("an arrival schedule needs a request rate above 0 per user")
    if not 0 <= index < processes:
        raise LoadError(f"process {index} of {processes}: the index must be from 0 to {processes - 1}")
    limit = planned_requests(shape, rate_per_user, budget)
    k, done = index, 0.0  # done: requests planned before the current stage
    for start, end, stage in shape.windows():
        rate = stage.users * rate_per_user
        if rate <= 0:
            continue
        here = rate * (end - start)
        while k < limit and k < done + here - 1e-9:
            yield start + (k - done) / rate
            k += processes
        done += here


def share(total: int, index: int, processes: int) -> int:
    """Process ``index``'s part of ``total`` (connections, in-flight slots) split as evenly as whole numbers go."""
    return total // processes + (1 if index < total % processes else 0)
