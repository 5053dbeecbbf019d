"""The default Locust user mixes (run inside Locust child processes only): :class:`MissionControlUser` against the
reference service's API, :class:`SiteUser` GETting configured paths of any other target.

Each user sends ``ARTEMIS_LOAD_RATE`` requests per second on a fixed schedule with its own phase (spread
evenly over the period across users), so users do not fire in step (Locust's ``constant_throughput`` starts every user's
clock together, and requests then leave in bursts that inflate the measured latency).
``ARTEMIS_LOAD_RATE=0`` makes users send back to back. The pacing records how late each request starts against
its user's schedule (:func:`pytest_artemis.load.arrival.record_lateness`), which the corrected times add. In arrival
mode the same classes serve as the connections of :class:`pytest_artemis.load.arrival.Schedule`: one task per
scheduled start, no pacing.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, task

from pytest_artemis.load.arrival import record_lateness

__all__ = ["MissionControlUser", "SiteUser", "phased_throughput"]

RATE = float(os.environ.get("ARTEMIS_LOAD_RATE", "5"))
API = os.environ.get("ARTEMIS_LOAD_API", "/api/v1/missions").rstrip("/")
#: Missions the reference service holds from its start and never evicts.
SEEDED_MISSIONS: tuple[str, ...] = ("1", "2", "3")


_GOLDEN = 0.6180339887498949


def phased_throughput(rate: float) -> Callable[[Any], float]:
    """A ``wait_time`` holding each user to ``rate`` task starts per second, each user with its own phase.

    The k-th user of this process starts at phase frac(offset + k * 0.618...) of the period (a low-discrepancy
    sequence with a random offset per process), so any number of users spreads evenly over the period.
    """
    counter = itertools.count()
    offset = random.random()

    def wait_time(user: Any) -> float:
        if rate <= 0:
            return 0.0
        period = 1.0 / rate
        now = time.monotonic()
        due = getattr(user, "_artemis_next", None)
        if due is None:
            phase = (offset + next(counter) * _GOLDEN) % 1.0
            due = now + phase * period
        else:
            due = max(due + period, now - period)  # never build up a backlog of more than one request
        user._artemis_next = due
        record_lateness(max(0.0, (now - due) * 1000))
        return max(0.0, due - now)

    return wait_time


class MissionControlUser(FastHttpUser):
    """Reads the mission list and single missions, and files a new mission now and then."""

    wait_time = phased_throughput(RATE)

    def on_start(self) -> None:
        self._artemis_next = None

    @task(6)
    def list_missions(self) -> None:
        self.client.get(API, name=f"{API}")

    @task(3)
    def read_mission(self) -> None:
        mission = random.choice(SEEDED_MISSIONS)
        self.client.get(f"{API}/{mission}", name=API + "/{id}")

    @task(1)
    def create_mission(self) -> None:
        body = {"name": f"exercise-{random.randrange(10**6)}", "priority": random.choice(["low", "normal", "high"]), "crew": 3}
        with self.client.post(API, json=body, name=API, catch_response=True) as response:
            if response.status_code in (200, 201):
                response.success()
            elif response.status_code:  # 0: no answer; the connection error itself is reported
                response.failure(f"HTTP {response.status_code}")


#: JSON list of paths the site user cycles through (set by the child from the plan's spec).
PATHS: tuple[str, ...] = tuple(json.loads(os.environ.get("ARTEMIS_LOAD_PATHS", '["/"]')))


class SiteUser(FastHttpUser):
    """GETs the configured paths in turn (``--artemis-load-path``): the default mix for a target that is not
    the reference service."""

    wait_time = phased_throughput(RATE)

    def on_start(self) -> None:
        self._artemis_next = None
        self._artemis_paths = itertools.cycle(PATHS)

    @task
    def get_path(self) -> None:
        path = next(self._artemis_paths)
        self.client.get(path, name=path)
