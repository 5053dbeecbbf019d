"""Live monitoring: the library behind the observability gate (``suites/test_monitoring_live.py``).

No pytest imports here; the fixtures (``pytest_artemis.fixtures.observability``) turn its errors into
skips and failures.

* :mod:`~pytest_artemis.monitoring.traffic` - bounded traffic bursts (:class:`Traffic`).
* :mod:`~pytest_artemis.monitoring.stack` - the target and Prometheus the checks use (:class:`Stack`,
  :func:`private_stack`), what a foreign target lacks (:class:`LiveCheckUnavailable`), dashboard files.
* :mod:`~pytest_artemis.monitoring.alerts` - the kit's alerts and their faults (:data:`KIT_ALERTS`),
  waiting for alert states.
* :mod:`~pytest_artemis.monitoring.exercise` - the phased exercise: quiet traffic, then one fault per alert.
* :mod:`~pytest_artemis.monitoring.run` - one run: the production guard, then the stack opened on first use.
"""

from __future__ import annotations

from pytest_artemis.monitoring.alerts import KIT_ALERTS, AlertCheck, AlertOutcome, active_alerts, wait_alerts
from pytest_artemis.monitoring.exercise import ALERT_TIMEOUT_SECONDS, PHASES, Exercise, PhaseError, QuietResult
from pytest_artemis.monitoring.run import MonitoringRun
from pytest_artemis.monitoring.stack import LiveCheckUnavailable, Stack, dashboard_files, private_stack
from pytest_artemis.monitoring.traffic import API_PATHS, Traffic

__all__ = [
    "ALERT_TIMEOUT_SECONDS",
    "API_PATHS",
    "KIT_ALERTS",
    "PHASES",
    "AlertCheck",
    "AlertOutcome",
    "Exercise",
    "LiveCheckUnavailable",
    "MonitoringRun",
    "PhaseError",
    "QuietResult",
    "Stack",
    "Traffic",
    "active_alerts",
    "dashboard_files",
    "private_stack",
    "wait_alerts",
]
