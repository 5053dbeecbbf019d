"""The kit's alerts as the live checks see them: which fault raises each, and waiting for their states.

:data:`KIT_ALERTS` names every alert of ``manifests/monitoring/rules/artemis-alerts.yaml`` with the phase
of the exercise whose fault should raise it and the condition in words (the test ids read
"<Alert> goes pending when <condition>"). :func:`wait_alerts` polls Prometheus' rules API until every
named alert is pending or firing (or the time is up) and says when each got there. No pytest imports.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from pytest_artemis.clients.prom import PromClient

__all__ = [
    "ACTIVE",
    "KIT_ALERTS",
    "NOT_LOADED",
    "AlertCheck",
    "AlertOutcome",
    "active_alerts",
    "alert_states",
    "wait_alerts",
]

ACTIVE = ("pending", "firing")
#: The state of an alert that no loaded rule file defines.
NOT_LOADED = "not loaded"


@dataclass(frozen=True)
class AlertCheck:
    """One alert of the kit and the fault that should raise it."""

    alert: str
    phase: str  # the exercise phase whose fault raises it
    condition: str  # "when ..." in words

    @property
    def id(self) -> str:
        return f"{self.alert} goes pending when {self.condition}"

    @property
    def measurement(self) -> str:
        """``<snake_case_alert>_seconds_to_pending``."""
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in self.alert).lstrip("_")
        return f"{snake}_seconds_to_pending"


#: Every alert of the kit, in the order of the exercise's phases.
KIT_ALERTS: tuple[AlertCheck, ...] = (
    AlertCheck("PerformanceDegraded", "latency", "the API answers 1.5 s late"),
    AlertCheck("SystemDown", "outage", "the service is down and its scrapes fail"),
    AlertCheck("HighErrorRate", "errors", "half of the API requests fail with 500"),
    AlertCheck("SecurityBreach", "intrusion", "authentication fails more than ten times a minute"),
    AlertCheck("ResourceCritical", "memory", "memory grows past 90 percent of its limit"),
    AlertCheck("ResourceHigh", "memory", "memory grows past 80 percent of its limit"),
    AlertCheck("DeploymentIssues", "rollout", "the Deployment reports an unavailable replica"),
)


@dataclass(frozen=True)
class AlertOutcome:
    """What one alert did during its phase."""

    alert: str
    state: str  # inactive, pending, firing or NOT_LOADED
    seconds: float  # from switching the fault on to the first poll that saw it active (the timeout if never)
    before: str  # its state when the phase began (inactive unless an earlier phase leaked into it)
    traffic: dict[str, object] = field(default_factory=dict)  # what the phase sent: requests, statuses

    @property
    def raised(self) -> bool:
        return self.state in ACTIVE


def alert_states(prom: PromClient) -> dict[str, str]:
    """Alert name -> inactive, pending or firing (firing wins over pending) for every loaded alerting rule."""
    states: dict[str, str] = {}
    for rule in prom.rules("alert"):
        seen = states.get(rule.name, "inactive")
        if rule.state == "firing" or (rule.state == "pending" and seen != "firing"):
            seen = rule.state
        states[rule.name] = seen
    return states


def active_alerts(prom: PromClient) -> list[str]:
    """Every pending or firing alert as ``Name (state, severity)``, sorted."""
    return sorted({f"{s.labels.get('alertname')} ({s.labels.get('alertstate')}, "
                   f"{s.labels.get('severity', 'no severity')})" for s in prom.query("ALERTS")})


def wait_alerts(prom: PromClient, names: Iterable[str], timeout: float, *, started: float | None = None,
                interval: float = 0.25) -> dict[str, tuple[str, float]]:
    """Poll until every alert of ``names`` is pending or firing, at most ``timeout`` s after ``started``.

    Returns name -> (state, seconds from ``started`` to the first poll that saw it active; ``timeout``
    when it never was). ``started`` is a ``time.monotonic()`` reading (default: now). An alert no loaded
    rule defines comes back at once as (:data:`NOT_LOADED`, 0).
    """
    started = time.monotonic() if started is None else started
    waiting = list(dict.fromkeys(names))
    found: dict[str, tuple[str, float]] = {}
    while True:
        states = alert_states(prom)
        elapsed = time.monotonic() - started
        for name in waiting:
            state = states.get(name, NOT_LOADED)
            if name not in found and (state in ACTIVE or state == NOT_LOADED):
                found[name] = (state, 0.0 if state == NOT_LOADED else elapsed)
        if len(found) == len(waiting) or elapsed >= timeout:
            return {name: found.get(name, (states.get(name, NOT_LOADED), timeout)) for name in waiting}
        time.sleep(interval)
