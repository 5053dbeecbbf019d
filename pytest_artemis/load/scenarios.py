"""Scenario plans: what each scenario (load, spike, endurance, scalability, chaos) runs per profile.

A :class:`Plan` is the complete, validated description of one run: its shape (users over time), the
request rate of each default user, an optional request budget, the hard time bound, the Locust
workers and, for chaos, the fault schedule. :func:`plan_for` builds it from the profile
(smoke | ci | full) and the seed's parameters (``users``, ``requests``, ``duration``, ``max_users``,
``step_size``, ``seed``), which override the profile's figures.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_artemis.errors import LoadError
from pytest_artemis.load import shapes
from pytest_artemis.load.shapes import Shape

__all__ = ["PARAMETERS", "SCENARIOS", "FaultEvent", "Plan", "parse_params", "plan_for"]

SCENARIOS: tuple[str, ...] = ("load", "spike", "endurance", "scalability", "chaos")

#: Seed parameter -> (type, lowest accepted value, highest accepted value, meaning).
PARAMETERS: dict[str, tuple[type, float, float, str]] = {
    "users": (int, 1, 5000, "users (load, endurance), normal users before the spike (spike)"),
    "requests": (int, 1, 1_000_000, "requests each user sends (load)"),
    "duration": (float, 1, 24 * 3600, "seconds of load (endurance, chaos)"),
    "max_users": (int, 1, 5000, "highest user count (scalability, chaos)"),
    "step_size": (int, 1, 5000, "users added per step (scalability)"),
    "rate": (float, 0.01, 1000, "requests per second of each default user"),
    "seed": (int, 0, 2**31 - 1, "random seed of the chaos load pattern and fault schedule"),
}

#: Profile -> scenario -> figures. Smoke runs take seconds; ci tens of seconds; full the seed's figures.
_PROFILES: dict[str, dict[str, dict[str, float]]] = {
    "smoke": {
        "load": {"users": 10, "requests": 30, "rate": 10},
        "spike": {"users": 4, "normal": 3, "spike": 3, "recovery": 6, "rate": 5},
        "endurance": {"users": 5, "duration": 8, "rate": 10},
        "scalability": {"users": 2, "max_users": 8, "step_size": 2, "step_seconds": 2, "rate": 10},
        "chaos": {"max_users": 8, "duration": 16, "rate": 5},
    },
    "ci": {
        "load": {"users": 20, "requests": 50, "rate": 5},
        "spike": {"users": 10, "normal": 8, "spike": 8, "recovery": 16, "rate": 5},
        "endurance": {"users": 10, "duration": 30, "rate": 10},
        "scalability": {"users": 10, "max_users": 50, "step_size": 10, "step_seconds": 4, "rate": 5},
        "chaos": {"max_users": 20, "duration": 30, "rate": 5},
    },
    "full": {
        "load": {"users": 50, "requests": 100, "rate": 4},
        "spike": {"users": 10, "normal": 30, "spike": 30, "recovery": 60, "rate": 5},
        "endurance": {"users": 20, "duration": 300, "rate": 5},
        "scalability": {"users": 10, "max_users": 100, "step_size": 10, "step_seconds": 10, "rate": 5},
        "chaos": {"max_users": 50, "duration": 300, "rate": 4},
    },
}


@dataclass(frozen=True)
class FaultEvent:
    """Switch ``fault`` on with ``settings`` at ``at`` seconds and off again ``duration`` seconds later."""

    at: float
    duration: float
    fault: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def until(self) -> float:
        return self.at + self.duration


@dataclass(frozen=True)
class Plan:
    """Everything one scenario run needs; bounded in time and users."""

    scenario: str
    profile: str
    shape: Shape
    rate_per_user: float
    request_budget: int | None = None
    workers: int = 0
    seed: int | None = None
    faults: tuple[FaultEvent, ...] = ()
    params: Mapping[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.shape.duration

    @property
    def max_seconds(self) -> float:
        """The hard bound: the shape's duration plus head-room for start and stop."""
        return self.shape.duration + 10 + 0.2 * self.shape.duration

    @property
    def max_users(self) -> int:
        return self.shape.max_users

    def planned_rps(self, users: int | None = None) -> float:
        """Requests/s the default user mix sends at ``users`` users (the shape's peak by default)."""
        return (self.max_users if users is None else users) * self.rate_per_user

    def with_workers(self, workers: int) -> Plan:
        return replace(self, workers=workers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "profile": self.profile, "shape": self.shape.as_dict(),
            "rate_per_user": self.rate_per_user, "request_budget": self.request_budget, "workers": self.workers,
            "seed": self.seed, "params": dict(self.params),
            "faults": [{"at": f.at, "duration": f.duration, "fault": f.fault, "settings": dict(f.settings)}
                       for f in self.faults],
        }


def parse_params(pairs: Mapping[str, Any] | tuple[str, ...] | list[str]) -> dict[str, float]:
    """Validate seed parameters given as a mapping or as ``key=value`` strings; errors name key and range."""
    items: list[tuple[str, Any]]
    if isinstance(pairs, Mapping):
        items = list(pairs.items())
    else:
        items = []
        for pair in pairs:
            key, sep, text = str(pair).partition("=")
            if not sep:
                raise LoadError(f"load parameter {pair!r}: expected KEY=VALUE, e.g. users=50")
            items.append((key.strip().replace("-", "_"), text.strip()))
    out: dict[str, float] = {}
    for key, raw in items:
        if raw is None:
            continue
        if key not in PARAMETERS:
            raise LoadError(f"load parameter {key!r} is unknown; known: {', '.join(PARAMETERS)}")
        kind, low, high, meaning = PARAMETERS[key]
        what = "a whole number" if kind is int else "a number"
        try:
            if isinstance(raw, bool):
                raise TypeError(raw)
            value: float = float(raw) if kind is float else int(str(raw).strip(), 10) if isinstance(raw, str) \
                else int(raw)
            if kind is int and not isinstance(raw, str) and float(raw) != value:
                raise ValueError(raw)
        except (TypeError, ValueError) as err:
            raise LoadError(f"load parameter {key}={raw!r}: expected {what} ({meaning})") from err
        if not low <= value <= high:
            raise LoadError(f"load parameter {key}={raw!r}: must be between {low:g} and {high:g} ({meaning})")
        out[key] = value
    return out


def plan_for(scenario: str, profile: str = "ci", params: Mapping[str, Any] | None = None,
             workers: int = 0) -> Plan:
    """The plan of ``scenario`` on ``profile`` with the seed's ``params`` overriding the profile's figures."""
    if scenario not in SCENARIOS:
        raise LoadError(f"unknown load scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if profile not in _PROFILES:
        raise LoadError(f"unknown profile {profile!r}; known: {', '.join(_PROFILES)}")
    given = parse_params(params or {})
    figures: dict[str, float] = dict(_PROFILES[profile][scenario])
    figures.update(given)
    rate = float(figures["rate"])
    seed = int(figures["seed"]) if "seed" in figures else None
    budget: int | None = None
    faults: tuple[FaultEvent, ...] = ()
    if scenario == "load":
        users, requests = int(figures["users"]), int(figures["requests"])
        budget = users * requests
        duration = max(2.0, budget / (users * rate) * 1.5 + 1)
        shape = shapes.constant(users, round(duration, 1))
    elif scenario == "spike":
        users = int(figures["users"])
        if "duration" in given:
            third = float(given["duration"]) / 4
            figures.update(normal=third, spike=third, recovery=2 * third)
        shape = shapes.spike(users, figures["normal"], figures["spike"], figures["recovery"])
    elif scenario == "endurance":
        shape = shapes.constant(int(figures["users"]), float(figures["duration"]))
    elif scenario == "scalability":
        start, stop, step = int(figures["users"]), int(figures["max_users"]), int(figures["step_size"])
        if "step_size" in given and "users" not in given:
            start = step
        if stop < start:
            raise LoadError(f"scalability: max_users {stop} is below the first step of {start} users")
        shape = shapes.steps(start, stop, step, float(figures["step_seconds"]))
    else:  # chaos
        seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        duration = float(figures["duration"])
        shape = shapes.random_walk(seed, int(figures["max_users"]), duration)
        faults = chaos_schedule(seed, duration)
    if shape.max_users * rate > 20_000:
        raise LoadError(f"{scenario}: {shape.max_users} users at {rate:g} requests/s each plan "
                        f"{shape.max_users * rate:,.0f} requests/s; the bound is 20,000")
    return Plan(scenario, profile, shape, rate, budget, workers, seed, faults, figures)


def chaos_schedule(seed: int, duration: float) -> tuple[FaultEvent, ...]:
    """Faults for a chaos run from ``seed``: a latency burst, an error burst and a short readiness flap.

    All faults are off for the first and the last quarter of the run, so the steady state before and
    the recovery after can be measured.
    """
    rng = random.Random(seed ^ 0x5EED)
    start, end = duration * 0.25, duration * 0.75
    span = end - start
    latency = FaultEvent(round(start + rng.uniform(0, span * 0.1), 2), round(span * 0.3, 2), "latency",
                         {"ms": rng.choice((150, 200, 300)), "jitter_ms": 50})
    errors_at = round(latency.until + rng.uniform(0, span * 0.1), 2)
    errors = FaultEvent(errors_at, round(span * 0.25, 2), "errors", {"ratio": rng.choice((0.1, 0.2, 0.3))})
    flap = FaultEvent(round(min(errors.until + 0.2, end - 0.5), 2), round(min(0.02 * duration, 2.0), 2),
                      "readiness", {"down": True})
    return latency, errors, flap
