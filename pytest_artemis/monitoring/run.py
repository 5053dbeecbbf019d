"""One live monitoring run: the production guard, then the stack opened on first use (no pytest imports).

:class:`MonitoringRun` is what a module of live checks shares. Nothing is started and no request is sent
when it is created: the first :meth:`MonitoringRun.exercise` call checks the production guard, then opens
the stack, and every later call gets the same :class:`~pytest_artemis.monitoring.exercise.Exercise` (or the
same error, so a stack that cannot start is tried once, not once per check):

* neither ``--artemis-target`` nor ``--artemis-prometheus`` given - a private reference service and
  Prometheus (:func:`~pytest_artemis.monitoring.stack.private_stack`), stopped by :meth:`close`;
* otherwise the session's target and Prometheus, from the ``session_services`` callable the fixtures pass
  in - unless the target has no ``/metrics`` and no Prometheus is given, which would only time out:
  :class:`~pytest_artemis.monitoring.stack.LiveCheckUnavailable` with the line saying what to give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path

from pytest_artemis.clients.prom import PromClient
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import ArtemisError
from pytest_artemis.guard import ensure_traffic_allowed
from pytest_artemis.monitoring.exercise import Exercise
from pytest_artemis.monitoring.stack import LiveCheckUnavailable, Stack, has_metrics, no_metrics_reason, private_stack
from pytest_artemis.services.target.control import Target

__all__ = ["GUARDED", "MonitoringRun"]

#: What the production guard is asked to allow.
GUARDED = "live monitoring traffic"

SessionServices = Callable[[], tuple[Target, PromClient]]


class MonitoringRun:
    """The exercise of one module of live checks, opened lazily behind the production guard."""

    def __init__(self, cfg: ArtemisConfig, *, log_dir: Path, base_env: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.log_dir = log_dir
        self.base_env = dict(base_env)
        self._exits = ExitStack()
        self._exercise: Exercise | None = None
        self._failure: ArtemisError | None = None

    @property
    def private(self) -> bool:
        """True when this run starts its own reference service and Prometheus."""
        return self.cfg.target is None and self.cfg.prometheus is None

    def exercise(self, session_services: SessionServices) -> Exercise:
        """The exercise, after the production guard (:class:`~pytest_artemis.errors.TrafficRefusedError`)."""
        ensure_traffic_allowed(self.cfg.environment, self.cfg.allow_production_load, GUARDED)
        if self._failure is not None:
            raise self._failure
        if self._exercise is None:
            try:
                self._exercise = Exercise(self._open(session_services))
            except ArtemisError as err:
                self._failure = err
                raise
        return self._exercise

    def _open(self, session_services: SessionServices) -> Stack:
        if self.private:
            return self._exits.enter_context(private_stack(self.cfg, self.log_dir, self.base_env))
        if self.cfg.prometheus is None and self.cfg.target is not None and not has_metrics(self.cfg.target):
            raise LiveCheckUnavailable(no_metrics_reason(self.cfg.target))
        target, prom = session_services()
        return Stack(target, prom, private=False)

    def close(self) -> None:
        """Stop what this run started (nothing when it used the session's services)."""
        self._exits.close()
