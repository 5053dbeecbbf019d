"""The phased exercise of the live monitoring checks: quiet traffic, then one fault per alert (no pytest imports).

:class:`Exercise` runs each phase at most once, in the order of :data:`PHASES`; asking for a phase runs
the earlier ones first, so any check can run alone and still see the same history:

* ``quiet`` - a short burst of API traffic and two failed authentications (below every line) with every
  fault off; records the alerts active afterwards (none of the kit's should be) and any wait that timed
  out. The only phase a foreign target gets.
* ``latency`` - 1.5 s of added API latency under concurrent requests: Performance Degraded.
* ``outage`` - the service down (``service_down``), so every scrape fails: System Down.
* ``errors`` - half of the API requests answer 500: High Error Rate.
* ``intrusion`` - 40 failed authentications in about 3 s: Security Breach.
* ``memory`` - a memory limit just above the resident memory and memory growing toward it: Resource
  Critical and Resource High.
* ``rollout`` - the Deployment reporting an unavailable replica: Deployment Issues.

The order is chosen so no phase leaves behind what a later phase's alert measures: the outage counts no
request (so it adds no 5xx to the error rate) and comes before the errors, whose 5xx would already have
pulled availability under System Down's line; latency comes first, while few fast requests dilute its
p95. Each fault is switched off when its phase ends, also when it fails. Fault phases need a private
stack (:attr:`Stack.can_switch_faults`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_artemis.errors import ArtemisError
from pytest_artemis.monitoring.alerts import KIT_ALERTS, AlertOutcome, active_alerts, alert_states, wait_alerts
from pytest_artemis.monitoring.stack import NO_FAULT_SWITCHES, LiveCheckUnavailable, Stack
from pytest_artemis.monitoring.traffic import API_PATHS, Traffic
from pytest_artemis.services.prometheus import JOB
from pytest_artemis.services.target.control import AdminClient

__all__ = ["ALERT_TIMEOUT_SECONDS", "PHASES", "Exercise", "PhaseError", "PhaseResult", "QuietResult"]

PHASES: tuple[str, ...] = ("quiet", "latency", "outage", "errors", "intrusion", "memory", "rollout")

#: How long a fault phase waits for its alerts to go pending.
ALERT_TIMEOUT_SECONDS = 20.0
#: The quiet burst: duration (s), most requests, pause between requests (s), failed authentications.
QUIET_SECONDS = 4.0
QUIET_MAX_REQUESTS = 2000
QUIET_PAUSE = 0.01
QUIET_FAILED_AUTHS = 2  # below Security Breach's line, so the threat panels have a series to show
#: The faults.
LATENCY_MS = 1500
LATENCY_WORKERS = 16
ERROR_RATIO = 0.5
FAILED_AUTHS = 40  # in about 3 s: far above Security Breach's line of 10 a minute
MEMORY_HEADROOM_MB = 48  # the limit: resident memory + this; growth at this many MB a second
UNAVAILABLE_REPLICAS = 1

_MB = 1024 * 1024


class PhaseError(ArtemisError):
    """A phase could not be run (a service stopped answering, a query failed ...)."""


@dataclass
class QuietResult:
    """The quiet phase: traffic sent, alerts active after it, waits that timed out."""

    traffic: dict[str, Any]
    active_alerts: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return int(self.traffic["requests"])


@dataclass
class PhaseResult:
    """A fault phase: the fault in force, each of its alerts' outcome and the traffic it sent."""

    phase: str
    fault: dict[str, Any]
    outcomes: dict[str, AlertOutcome]
    traffic: dict[str, Any] = field(default_factory=dict)


@contextmanager
def switched(admin: AdminClient, **faults: Any) -> Iterator[None]:
    """Switch ``faults`` on for the block; every fault is off again afterwards, also on failure."""
    try:
        admin.set(**faults)
        yield
    finally:
        admin.reset()


class Exercise:
    """The phases against one :class:`Stack`, each run once; results (or errors) are kept for later askers."""

    def __init__(self, stack: Stack, *, alert_timeout: float = ALERT_TIMEOUT_SECONDS) -> None:
        self.stack = stack
        self.alert_timeout = alert_timeout
        self.results: dict[str, QuietResult | PhaseResult | ArtemisError] = {}
        self._runners: dict[str, Callable[[], QuietResult | PhaseResult]] = {
            "quiet": self._quiet, "latency": self._latency, "outage": self._outage, "errors": self._errors,
            "intrusion": self._intrusion, "memory": self._memory, "rollout": self._rollout,
        }

    # ------------------------------------------------------------------ running phases

    def _once(self, phase: str) -> QuietResult | PhaseResult | ArtemisError:
        if phase not in self.results:
            try:
                self.results[phase] = self._runners[phase]()
            except LiveCheckUnavailable:
                raise
            except ArtemisError as err:
                self.results[phase] = err
        return self.results[phase]

    def _result(self, phase: str) -> QuietResult | PhaseResult:
        """Run ``phase`` (after every earlier phase) and return its result; :class:`PhaseError` if it failed."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
        if phase != "quiet" and not self.stack.can_switch_faults:
            raise LiveCheckUnavailable(NO_FAULT_SWITCHES)
        for earlier in PHASES[:PHASES.index(phase)]:
            outcome = self._once(earlier)
            if earlier == "quiet" and isinstance(outcome, ArtemisError):
                raise PhaseError(f"quiet phase: {outcome}{self.stack.explain()}")
        outcome = self._once(phase)
        if isinstance(outcome, ArtemisError):
            raise PhaseError(f"{phase} phase: {outcome}{self.stack.explain()}")
        return outcome

    def quiet(self) -> QuietResult:
        result = self._result("quiet")
        assert isinstance(result, QuietResult)
        return result

    def phase(self, phase: str) -> PhaseResult:
        result = self._result(phase)
        assert isinstance(result, PhaseResult)
        return result

    def alert(self, name: str) -> AlertOutcome:
        """The outcome of the kit alert ``name`` under its fault (running its phase if needed)."""
        check = next((c for c in KIT_ALERTS if c.alert == name), None)
        if check is None:
            raise ValueError(f"{name!r} is not an alert of the kit; known: {', '.join(c.alert for c in KIT_ALERTS)}")
        return self.phase(check.phase).outcomes[name]

    # ------------------------------------------------------------------ helpers

    def _wait(self, what: str, expr: str, predicate: Callable[[float | None], bool], timeout: float) -> None:
        self.stack.prom.wait_for(expr, predicate, timeout=timeout, description=what)

    def _fault_phase(self, phase: str, faults: dict[str, Any], traffic: Traffic | None = None) -> PhaseResult:
        """Switch ``faults`` on (with ``traffic`` running), wait for the phase's alerts, switch them off."""
        names = [c.alert for c in KIT_ALERTS if c.phase == phase]
        before = alert_states(self.stack.prom)
        with switched(self.stack.admin, **faults):
            started = time.monotonic()
            try:
                if traffic is not None:
                    traffic.start()
                seen = wait_alerts(self.stack.prom, names, self.alert_timeout, started=started)
            finally:
                if traffic is not None:
                    traffic.stop()
        sent = traffic.summary() if traffic is not None else {}
        outcomes = {name: AlertOutcome(name, state, seconds, before.get(name, "inactive"), sent)
                    for name, (state, seconds) in seen.items()}
        return PhaseResult(phase, faults, outcomes, sent)

    def _api_traffic(self, **options: Any) -> Traffic:
        options.setdefault("seconds", self.alert_timeout)
        options.setdefault("max_requests", 10_000)
        return Traffic(self.stack.target.url, API_PATHS, **options)

    # ------------------------------------------------------------------ the phases

    def _quiet(self) -> QuietResult:
        url, prom, problems = self.stack.target.url, self.stack.prom, []
        with Traffic(url, API_PATHS, seconds=QUIET_SECONDS, max_requests=QUIET_MAX_REQUESTS,
                     pause=QUIET_PAUSE) as traffic:
            if self.stack.private:
                Traffic(url, ("/admin/faults",), seconds=2, max_requests=QUIET_FAILED_AUTHS, pause=0.5).wait()
            waits = [("the recording rules to have data", "count(artemis:response_time_p95_ms)", 20.0)]
            if self.stack.private:
                waits.append(("the failed authentications to be scraped",
                              "count(job:artemis_auth_failures:increase1m)", 10.0))
            for what, expr, timeout in waits:
                try:
                    self._wait(what, expr, lambda v: v is not None and v >= 1, timeout)
                except ArtemisError as err:
                    problems.append(str(err))
            traffic.wait()
        time.sleep(2)  # two more rule evaluations with the whole burst in
        return QuietResult(traffic.summary(), active_alerts(prom), problems)

    def _latency(self) -> PhaseResult:
        traffic = self._api_traffic(workers=LATENCY_WORKERS, pause=0.0, timeout=LATENCY_MS / 1000 + 5)
        return self._fault_phase("latency", {"latency_ms": LATENCY_MS}, traffic)

    def _outage(self) -> PhaseResult:
        result = self._fault_phase("outage", {"service_down": True})
        self._wait("the service to be scraped again", f'max(up{{job="{JOB}"}})', lambda v: v == 1, 15.0)
        return result

    def _errors(self) -> PhaseResult:
        return self._fault_phase("errors", {"error_ratio": ERROR_RATIO}, self._api_traffic())

    def _intrusion(self) -> PhaseResult:
        traffic = Traffic(self.stack.target.url, ("/admin/faults",), seconds=self.alert_timeout,
                          max_requests=FAILED_AUTHS, pause=3.0 / FAILED_AUTHS,
                          headers={"Authorization": "Bearer wrong-token"})
        return self._fault_phase("intrusion", {}, traffic)

    def _memory(self) -> PhaseResult:
        resident = self.stack.prom.query_value(f'max(process_resident_memory_bytes{{job="{JOB}"}})')
        if resident is None:
            raise PhaseError("no process_resident_memory_bytes of the target in Prometheus")
        limit_mb = math.ceil(resident / _MB) + MEMORY_HEADROOM_MB
        return self._fault_phase("memory", {"memory_limit_mb": limit_mb,
                                            "memory_growth_mb_per_s": MEMORY_HEADROOM_MB})

    def _rollout(self) -> PhaseResult:
        return self._fault_phase("rollout", {"unavailable_replicas": UNAVAILABLE_REPLICAS})
