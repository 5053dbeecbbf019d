"""Fault switches of the reference service and its start-up settings (read from ``ARTEMIS_*`` variables).

A fault is switched at start through the environment or at run time through ``PUT /admin/faults``:

=============================  ==========================================  ==================================
field                          effect                                      variable
=============================  ==========================================  ==================================
``latency_ms``                 added to every ``/api`` request             ``ARTEMIS_FAULT_LATENCY_MS``
``latency_jitter_ms``          +/- uniform jitter on that latency          ``ARTEMIS_FAULT_LATENCY_JITTER_MS``
``error_ratio``                share (0..1) of ``/api`` requests -> 500    ``ARTEMIS_FAULT_ERROR_RATIO``
``readiness_down``             ``/health/ready`` answers 503               ``ARTEMIS_FAULT_READINESS_DOWN``
``dependencies_down``          those dependencies down, readiness 503      ``ARTEMIS_FAULT_DEPENDENCIES_DOWN``
``slow_startup_seconds``       start (or re-initialise now) taking N s     ``ARTEMIS_FAULT_SLOW_STARTUP_SECONDS``
``memory_growth_mb_per_s``     retained memory grows N MB each second      ``ARTEMIS_FAULT_MEMORY_GROWTH_MB_PER_S``
``memory_limit_mb``            runs as under an N MB memory limit: the     ``ARTEMIS_FAULT_MEMORY_LIMIT_MB``
                               limit gauge says N, growth stops at N
``service_down``               every route but ``/admin`` answers 503 and  ``ARTEMIS_FAULT_SERVICE_DOWN``
                               counts nothing (scrapes fail: ``up == 0``)
``unavailable_replicas``       reports its Deployment with N unavailable   ``ARTEMIS_FAULT_UNAVAILABLE_REPLICAS``
                               replicas, in kube-state-metrics' series
``stall_ms``                   with ``stall_every_s``: the whole service   ``ARTEMIS_FAULT_STALL_MS``
``stall_every_s``              pauses N ms every M s (its event loop is    ``ARTEMIS_FAULT_STALL_EVERY_S``
                               blocked, like a stop-the-world GC pause:
                               every request arriving during a pause
                               waits until it ends); the first pause
                               comes M s after the switch
=============================  ==========================================  ==================================

``memory_limit_mb``, ``service_down`` and ``unavailable_replicas`` stand in for what a cluster does to a
pod (a container memory limit, an outage, a stalled rollout), so every alert of the monitoring kit can be
raised against the reference service alone. ``memory_limit_mb`` 0 means the real limit (cgroup or machine).
The stall shows what closed-model load hides: users waiting for their answers send little during a pause, while
requests started on a fixed schedule (the load scenarios' arrival mode) keep arriving and all wait (:class:`Stall`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEPENDENCIES", "ENV_PREFIX", "FAULT_NAMES", "FaultError", "Faults", "Settings", "Stall"]

DEPENDENCIES: tuple[str, ...] = ("database", "cache", "llm")
#: Values of the ``fault`` label of artemis_fault_active.
FAULT_NAMES: tuple[str, ...] = ("latency", "errors", "readiness", "slow_startup", "memory_growth", "memory_limit",
                                "service_down", "rollout", "stall")
ENV_PREFIX = "ARTEMIS_FAULT_"
_MAX_LATENCY_MS = 60_000.0
_MAX_GROWTH_MB_PER_S = 512.0
_MAX_LIMIT_MB = 1024.0 * 1024
_MAX_REPLICAS = 1000
_MAX_STALL_MS = 60_000.0
_MAX_STALL_EVERY_S = 3600.0


class FaultError(ValueError):
    """A fault value that the service refuses (the message names the field and what it accepts)."""


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FaultError(f"{name}: expected a number from {low:g} to {high:g}, got {value!r}")
    try:
        number = float(value)
    except ValueError as err:
        raise FaultError(f"{name}: expected a number from {low:g} to {high:g}, got {value!r}") from err
    if not low <= number <= high:
        raise FaultError(f"{name}: expected a number from {low:g} to {high:g}, got {value!r}")
    return number


def _whole(name: str, value: Any, low: int, high: int) -> int:
    number = _number(name, value, low, high)
    if not number.is_integer():
        raise FaultError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    return int(number)


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise FaultError(f"{name}: expected true or false, got {value!r}")


def _port(name: str, raw: str | None) -> int | None:
    """A TCP port from a variable (None when unset or empty)."""
    if raw is None or not raw.strip():
        return None
    return _whole(name, raw.strip(), 1, 65535)


def _dependencies(name: str, value: Any) -> tuple[str, ...]:
    items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) and i in DEPENDENCIES for i in items):
        raise FaultError(f"{name}: expected a list drawn from {', '.join(DEPENDENCIES)}, got {value!r}")
    return tuple(sorted(set(items)))


@dataclass(frozen=True)
class Faults:
    """The fault switches in force; all off by default."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_ratio: float = 0.0
    readiness_down: bool = False
    dependencies_down: tuple[str, ...] = ()
    slow_startup_seconds: float = 0.0
    memory_growth_mb_per_s: float = 0.0
    memory_limit_mb: float = 0.0
    service_down: bool = False
    unavailable_replicas: int = 0
    stall_ms: float = 0.0
    stall_every_s: float = 0.0

    def merged(self, changes: Mapping[str, Any]) -> Faults:
        """A copy with ``changes`` applied; unknown fields or bad values raise :class:`FaultError`."""
        if not isinstance(changes, Mapping):
            raise FaultError(f"expected a JSON object of fault fields, got {type(changes).__name__}")
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise FaultError(f"unknown fault field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, raw in changes.items():
            if key in ("latency_ms", "latency_jitter_ms"):
                values[key] = _number(key, raw, 0, _MAX_LATENCY_MS)
            elif key == "error_ratio":
                values[key] = _number(key, raw, 0, 1)
            elif key in ("readiness_down", "service_down"):
                values[key] = _flag(key, raw)
            elif key == "dependencies_down":
                values[key] = _dependencies(key, raw)
            elif key == "slow_startup_seconds":
                values[key] = _number(key, raw, 0, 3600)
            elif key == "memory_limit_mb":
                values[key] = _number(key, raw, 0, _MAX_LIMIT_MB)
            elif key == "unavailable_replicas":
                values[key] = _whole(key, raw, 0, _MAX_REPLICAS)
            elif key == "stall_ms":
                values[key] = _number(key, raw, 0, _MAX_STALL_MS)
            elif key == "stall_every_s":
                values[key] = _number(key, raw, 0, _MAX_STALL_EVERY_S)
            else:
                values[key] = _number(key, raw, 0, _MAX_GROWTH_MB_PER_S)
        merged = dataclasses.replace(self, **values)
        if merged.stall_ms > 0 and merged.stall_every_s > 0 and merged.stall_ms >= merged.stall_every_s * 1000:
            raise FaultError(f"stall_ms: a pause of {merged.stall_ms:g} ms must be shorter than its period "
                             f"stall_every_s={merged.stall_every_s:g}")
        return merged

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Faults:
        """Faults from ``ARTEMIS_FAULT_<FIELD>`` variables (a bad value raises :class:`FaultError`)."""
        faults = cls()
        for f in dataclasses.fields(cls):
            variable = ENV_PREFIX + f.name.upper()
            raw = env.get(variable)
            if raw is not None and raw.strip():
                try:
                    faults = faults.merged({f.name: raw})
                except FaultError as err:
                    raise FaultError(f"{variable}{str(err)[len(f.name):]}") from err
        return faults

    def active(self) -> dict[str, bool]:
        """Fault name (label of artemis_fault_active) -> switched on."""
        return {
            "latency": self.latency_ms > 0 or self.latency_jitter_ms > 0,
            "errors": self.error_ratio > 0,
            "readiness": self.readiness_down or bool(self.dependencies_down),
            "slow_startup": self.slow_startup_seconds > 0,
            "memory_growth": self.memory_growth_mb_per_s > 0,
            "memory_limit": self.memory_limit_mb > 0,
            "service_down": self.service_down,
            "rollout": self.unavailable_replicas > 0,
            "stall": self.stall_ms > 0 and self.stall_every_s > 0,
        }

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["dependencies_down"] = list(self.dependencies_down)
        return data


@dataclass(frozen=True)
class Settings:
    """Start-up settings of the reference service."""

    admin_token: str | None = None
    warmup_seconds: float = 0.0
    drain_seconds: float = 5.0
    pool_size: int = 10
    pool_timeout_seconds: float = 1.0
    write_hold_ms: float = 2.0
    memory_growth_cap_mb: float = 1024.0
    metrics_token: str | None = None  # /metrics wants this bearer token (None: open)
    metrics_port: int | None = None  # /metrics only on this port, and nothing else there (None: the main port)
    faults: Faults = field(default_factory=Faults)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``ARTEMIS_ADMIN_TOKEN``, ``ARTEMIS_WARMUP_SECONDS``, ``ARTEMIS_DRAIN_SECONDS``,
        ``ARTEMIS_POOL_SIZE``, ``ARTEMIS_POOL_TIMEOUT_SECONDS``, ``ARTEMIS_WRITE_HOLD_MS`` (how long a write
        holds its pool connection), ``ARTEMIS_MEMORY_GROWTH_CAP_MB``, ``ARTEMIS_METRICS_TOKEN`` (bearer token
        /metrics requires), ``ARTEMIS_METRICS_PORT`` (a port of its own for /metrics) and the
        ``ARTEMIS_FAULT_*`` switches."""
        env = os.environ if env is None else env

        def read(name: str, default: float, low: float, high: float) -> float:
            raw = env.get(name)
            return default if raw is None or not raw.strip() else _number(name, raw, low, high)

        return cls(
            admin_token=env.get("ARTEMIS_ADMIN_TOKEN") or None,
            warmup_seconds=read("ARTEMIS_WARMUP_SECONDS", 0.0, 0, 3600),
            drain_seconds=read("ARTEMIS_DRAIN_SECONDS", 5.0, 0, 600),
            pool_size=int(read("ARTEMIS_POOL_SIZE", 10, 1, 1000)),
            pool_timeout_seconds=read("ARTEMIS_POOL_TIMEOUT_SECONDS", 1.0, 0.001, 60),
            write_hold_ms=read("ARTEMIS_WRITE_HOLD_MS", 2.0, 0, 10_000),
            memory_growth_cap_mb=read("ARTEMIS_MEMORY_GROWTH_CAP_MB", 1024.0, 1, 65536),
            metrics_token=(env.get("ARTEMIS_METRICS_TOKEN") or "").strip() or None,
            metrics_port=_port("ARTEMIS_METRICS_PORT", env.get("ARTEMIS_METRICS_PORT")),
            faults=Faults.from_env(env),
        )


class Stall:
    """The stall fault's clock: the whole service pauses ``stall_ms`` every ``stall_every_s``.

    :meth:`run` is a background task of the service. A pause blocks the event loop (``time.sleep``), so nothing
    is served during it, like a stop-the-world pause: requests arriving meanwhile wait in the socket until it
    ends. :meth:`switch` (called whenever the faults change) restarts the clock: the first pause comes one
    period after a switch that changes the stall.
    """

    def __init__(self) -> None:
        self.ms = 0.0
        self.every_s = 0.0
        self.since = time.monotonic()
        self.count = 0  # pauses so far
        self._changed = asyncio.Event()

    def switch(self, faults: Faults) -> None:
        if (faults.stall_ms, faults.stall_every_s) == (self.ms, self.every_s):
            return
        self.ms, self.every_s, self.since = faults.stall_ms, faults.stall_every_s, time.monotonic()
        self._changed.set()

    def next_pause(self, now: float | None = None) -> float | None:
        """When the next pause starts (monotonic seconds), None while the stall is off."""
        if self.ms <= 0 or self.every_s <= 0:
            return None
        now = time.monotonic() if now is None else now
        periods = max(1, math.floor((now - self.since) / self.every_s) + 1)
        return self.since + periods * self.every_s

    async def run(self) -> None:
        while True:
            self._changed.clear()
            due = self.next_pause()
            try:
                await asyncio.wait_for(self._changed.wait(), None if due is None else max(0.0, due - time.monotonic()))
                continue  # switched meanwhile: a new clock
            except TimeoutError:
                pass
            time.sleep(self.ms / 1000)  # noqa: ASYNC251 - on purpose: the whole service (its loop) pauses
            self.count += 1
