"""Scenarios, declared once, and their plans.

Each scenario (load, spike, endurance, scalability, chaos) is one :class:`Scenario` in :data:`SCENARIOS`:
its marker and description, its figures per profile (smoke | ci | full), the shape builder, whether the
baseline gates and the chaos steady state apply, its own gate, and the defaults of the baseline figures it
reads. Everything else (markers, the CLI, the fixtures, the evaluation) derives from this table.

A :class:`Plan` is the complete, validated description of one run: its shape (users over time), the
request rate of each default user, an optional request budget, the hard time bound, the Locust workers
and, for chaos, the fault schedule. :func:`plan_for` builds it from the profile and the seed's parameters
(``users``, ``requests``, ``duration``, ``max_users``, ``step_size``, ``seed``), which override the profile.

``Plan.mode`` is ``closed`` (each user waits for its answer before its next request) or ``arrival`` (the
``load``, ``spike`` and ``chaos`` plans only): requests start on a fixed schedule, users x rate per user per
stage (:func:`~pytest_artemis.load.shapes.arrival_times`), whatever the answers do; the plan's users are the
connections, and at most ``in_flight`` requests (parameter ``in_flight``; default :meth:`Plan.in_flight_bound`)
may be started and unfinished at once; one more is a dropped iteration, which makes the run invalid.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pytest_artemis.errors import LoadError
from pytest_artemis.load import gates as _gates
from pytest_artemis.load import shapes
from pytest_artemis.load.shapes import Shape

if TYPE_CHECKING:
    from pytest_artemis.baselines import Baseline
    from pytest_artemis.findings import Finding
    from pytest_artemis.load.results import RunResult

__all__ = ["ARRIVAL_SCENARIOS", "MODES", "PARAMETERS", "SCENARIOS", "FaultEvent", "Plan", "Scenario", "parse_params",
           "plan_for", "scenario"]

#: Seed parameter -> (type, lowest accepted value, highest accepted value, meaning).
PARAMETERS: dict[str, tuple[type, float, float, str]] = {
    "users": (int, 1, 5000, "users (load, endurance), normal users before the spike (spike)"),
    "requests": (int, 1, 1_000_000, "requests each user sends (load)"),
    "duration": (float, 1, 24 * 3600, "seconds of load (endurance, chaos)"),
    "max_users": (int, 1, 5000, "highest user count (scalability, chaos)"),
    "step_size": (int, 1, 5000, "users added per step (scalability)"),
    "rate": (float, 0.01, 1000, "requests per second of each default user"),
    "seed": (int, 0, 2**31 - 1, "random seed of the chaos load pattern and fault schedule"),
    "in_flight": (int, 1, 100_000, "requests started and not finished at once, arrival mode (all processes)"),
}
#: Load models: closed (users wait for their answers) and arrival (requests start on a fixed schedule).
MODES: tuple[str, ...] = ("closed", "arrival")
#: The scenarios that run in arrival mode (endurance and scalability stay closed: they measure users).
ARRIVAL_SCENARIOS: tuple[str, ...] = ("load", "spike", "chaos")

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
    mode: str = "closed"
    in_flight: int = 0  # arrival mode: requests started and unfinished at once (0: in_flight_bound's default)

    @property
    def arrival(self) -> bool:
        return self.mode == "arrival"

    @property
    def in_flight_bound(self) -> int:
        """Arrival mode: requests that may be started and unfinished at once, all processes together.

        Default: ten per connection (user) or two seconds of the peak rate, whichever is more.
        """
        if self.in_flight:
            return self.in_flight
        return max(10 * self.max_users, math.ceil(2 * self.planned_rps()), 10)

    @property
    def planned_requests(self) -> int:
        """Arrival mode: the requests the schedule starts (capped by the request budget)."""
        return shapes.planned_requests(self.shape, self.rate_per_user, self.request_budget)

    @property
    def spec(self) -> Scenario:
        """The scenario this plan runs."""
        return SCENARIOS[self.scenario]

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
        out: dict[str, Any] = {
            "scenario": self.scenario, "profile": self.profile, "shape": self.shape.as_dict(),
            "rate_per_user": self.rate_per_user, "request_budget": self.request_budget, "workers": self.workers,
            "seed": self.seed, "params": dict(self.params),
            "faults": [{"at": f.at, "duration": f.duration, "fault": f.fault, "settings": dict(f.settings)}
                       for f in self.faults],
        }
        if self.arrival:  # a closed plan keeps the dict (and the regression history's signature) it always had
            out.update(mode=self.mode, in_flight=self.in_flight_bound)
        return out


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


Built = tuple[Shape, "int | None", "tuple[FaultEvent, ...]", "int | None"]  # shape, budget, faults, seed
ScenarioGates = Callable[["RunResult", "Plan", "Baseline"], "list[Finding]"]


@dataclass(frozen=True)
class Scenario:
    """One load scenario: everything the rest of the plugin needs to know about it."""

    name: str  # also its marker
    description: str  # the marker's description
    build: Callable[[dict[str, float], dict[str, float]], Built]  # (figures, figures given) -> shape ...
    baseline_gates: bool = True  # p95/p99/error rate/throughput/window; chaos gates on availability only
    steady_state: bool = False  # the chaos steady-state hypothesis before and after the run
    throughput_at_peak: bool = False  # throughput held to the plan's peak rate (else its average over the shape)
    defaults: Mapping[str, float] = field(default_factory=dict)  # baseline figures when the file has none
    gates: ScenarioGates | None = None  # the scenario's own gates, after the baseline gates

    def figure(self, baseline: Baseline, key: str) -> float:
        """A baseline figure; the scenario's default only where the file has none (a 0 is a value)."""
        value = baseline.get(key)
        if value is None:
            value = self.defaults.get(key)
        if value is None:
            raise LoadError(f"{self.name}: the baselines file has no {key} and the scenario no default")
        return float(value)


def _load(f: dict[str, float], given: dict[str, float]) -> Built:
    users, requests = int(f["users"]), int(f["requests"])
    budget = users * requests
    duration = max(2.0, budget / (users * f["rate"]) * 1.5 + 1)
    return shapes.constant(users, round(duration, 1)), budget, (), None


def _spike(f: dict[str, float], given: dict[str, float]) -> Built:
    if "duration" in given:
        quarter = float(given["duration"]) / 4
        f.update(normal=quarter, spike=quarter, recovery=2 * quarter)
    return shapes.spike(int(f["users"]), f["normal"], f["spike"], f["recovery"]), None, (), None


def _endurance(f: dict[str, float], given: dict[str, float]) -> Built:
    return shapes.constant(int(f["users"]), float(f["duration"])), None, (), None


def _scalability(f: dict[str, float], given: dict[str, float]) -> Built:
    start, stop, step = int(f["users"]), int(f["max_users"]), int(f["step_size"])
    if "step_size" in given and "users" not in given:
        start = step
    if stop < start:
        raise LoadError(f"scalability: max_users {stop} is below the first step of {start} users")
    return shapes.steps(start, stop, step, float(f["step_seconds"])), None, (), None


def _chaos(f: dict[str, float], given: dict[str, float]) -> Built:
    seed = int(f["seed"]) if "seed" in f else random.SystemRandom().randrange(2**31)
    duration = float(f["duration"])
    return shapes.random_walk(seed, int(f["max_users"]), duration), None, chaos_schedule(seed, duration), seed


def _spike_gates(run: RunResult, plan: Plan, baseline: Baseline) -> list[Finding]:
    normal_end, spike_end = plan.shape.stages[0].until, plan.shape.stages[1].until
    spec = plan.spec
    seconds, details = _gates.recovery_seconds(run, normal_end, spike_end,
                                               spec.figure(baseline, "recovery_tolerance_percent"))
    return [_gates.recovery_gate(seconds, details, spec.figure(baseline, "recovery_seconds"),
                                 f"the 5x spike ({plan.shape.stages[1].users} users)")]


def _chaos_gates(run: RunResult, plan: Plan, baseline: Baseline) -> list[Finding]:
    out = [f for f in (_gates.availability_gate(run, baseline),) if f is not None]
    if plan.faults:
        first, last = min(f.at for f in plan.faults), max(f.until for f in plan.faults)
        spec = plan.spec
        seconds, details = _gates.recovery_seconds(run, first, last,
                                                   spec.figure(baseline, "recovery_tolerance_percent"))
        out.append(_gates.recovery_gate(seconds, details, spec.figure(baseline, "recovery_seconds"),
                                        f"the last fault (seed {plan.seed})"))
    return out


def _endurance_gates(run: RunResult, plan: Plan, baseline: Baseline) -> list[Finding]:
    return [_gates.memory_gate(run.memory, plan.spec.figure(baseline, "memory_growth_mb_per_minute"),
                               run.memory_source or f"{run.target}/metrics")]


def _scalability_gates(run: RunResult, plan: Plan, baseline: Baseline) -> list[Finding]:
    steps = []
    for start, end, stage in plan.shape.windows():
        total, _, seconds = run.window(start + 1, end)  # the first second of a step ramps up
        if seconds:
            steps.append((stage.users, total.requests / seconds, total.p(95), total.error_rate_percent))
    knee_users, table = _gates.knee(steps, baseline.limit_with_tolerance("p95_ms"), baseline.error_rate_percent)
    return [_gates.knee_gate(knee_users, int(plan.spec.figure(baseline, "knee_users")), plan.max_users, table)]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("load", "load scenario: N users, R requests each, gated on the baselines.", _load,
             throughput_at_peak=True),
    Scenario("spike", "spike scenario: normal load, sudden 5x spike, recovery analysis.", _spike,
             defaults={"recovery_seconds": 30, "recovery_tolerance_percent": 50}, gates=_spike_gates),
    Scenario("endurance", "endurance scenario: sustained load with memory-leak detection.", _endurance,
             defaults={"memory_growth_mb_per_minute": 5}, gates=_endurance_gates),
    Scenario("scalability", "scalability scenario: users stepped up to find the knee.", _scalability,
             defaults={"knee_users": 1}, gates=_scalability_gates),
    Scenario("chaos", "chaos scenario: seeded random load with faults switched on the target.", _chaos,
             baseline_gates=False, steady_state=True,
             defaults={"recovery_seconds": 15, "recovery_tolerance_percent": 50}, gates=_chaos_gates),
)}


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; :class:`LoadError` naming the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise LoadError(f"unknown load scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def plan_for(name: str, profile: str = "ci", params: Mapping[str, Any] | None = None,
             workers: int = 0, mode: str = "closed") -> Plan:
    """The plan of scenario ``name`` on ``profile`` with the seed's ``params`` overriding the profile's figures.

    ``mode`` ``arrival`` starts requests on a fixed schedule (load, spike and chaos only; they need a rate).
    """
    spec = scenario(name)
    if mode not in MODES:
        raise LoadError(f"unknown load mode {mode!r}; known: {', '.join(MODES)}")
    if profile not in _PROFILES:
        raise LoadError(f"unknown profile {profile!r}; known: {', '.join(_PROFILES)}")
    given = parse_params(params or {})
    figures: dict[str, float] = dict(_PROFILES[profile][name])
    figures.update(given)
    rate = float(figures["rate"])
    shape, budget, faults, seed = spec.build(figures, given)
    if shape.max_users * rate > 20_000:
        raise LoadError(f"{name}: {shape.max_users} users at {rate:g} requests/s each plan "
                        f"{shape.max_users * rate:,.0f} requests/s; the bound is 20,000")
    in_flight = int(figures.pop("in_flight", 0))  # arrival mode only; a closed plan has no in-flight bound
    if mode == "arrival":
        if name not in ARRIVAL_SCENARIOS:
            raise LoadError(f"{name}: arrival mode runs the {', '.join(ARRIVAL_SCENARIOS)} scenarios only "
                            f"({name} measures users, not a request rate); use --artemis-load-mode closed")
        if rate <= 0:
            raise LoadError(f"{name}: arrival mode needs a request rate above 0 per user (--artemis-load-param rate=N)")
    return Plan(name, profile, shape, rate, budget, workers, seed, faults, figures, mode,
                in_flight if mode == "arrival" else 0)


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
