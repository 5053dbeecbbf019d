"""A bounded asyncio connection pool and the in-memory mission store that writes through it.

The pool holds ``size`` connection slots; a write acquires one for the time of the simulated round trip.
When every slot stays busy for ``timeout`` seconds the caller gets :class:`PoolExhausted` (the API answers
503), which is what a saturated database pool looks like to a client. The pool gauges follow every change.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Gauge

__all__ = ["PRIORITIES", "ConnectionPool", "Mission", "MissionStore", "PoolExhausted"]

PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "critical")


class PoolExhausted(Exception):
    """No connection became free within the pool's timeout."""


class ConnectionPool:
    """At most ``size`` concurrent holders; waiting longer than ``timeout`` raises :class:`PoolExhausted`."""

    def __init__(self, name: str, size: int, timeout: float, in_use: Gauge, size_gauge: Gauge) -> None:
        self.name = name
        self.size = size
        self.timeout = timeout
        self._slots = asyncio.Semaphore(size)
        self._in_use = 0
        self._in_use_gauge = in_use.labels(pool=name)
        size_gauge.labels(pool=name).set(size)

    @property
    def in_use(self) -> int:
        return self._in_use

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[int]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout)
        except TimeoutError as err:
            raise PoolExhausted(f"pool {self.name}: all {self.size} connections busy for {self.timeout:g} s") from err
        self._in_use += 1
        self._in_use_gauge.set(self._in_use)
        try:
            yield self._in_use
        finally:
            self._in_use -= 1
            self._in_use_gauge.set(self._in_use)
            self._slots.release()


@dataclass
class Mission:
    id: int
    name: str
    priority: str
    crew: int
    objective: str
    status: str = "planned"
    created_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "priority": self.priority, "crew": self.crew,
                "objective": self.objective, "status": self.status, "created_at": self.created_at}


class MissionStore:
    """Missions kept in memory; writes go through the pool and hold a connection ``hold`` seconds."""

    def __init__(self, pool: ConnectionPool, hold: float, capacity: int = 10_000) -> None:
        self.pool = pool
        self.hold = hold
        self.capacity = capacity
        self._ids = itertools.count(1)
        self._missions: dict[int, Mission] = {}
        for name, priority, crew in (("Artemis I", "high", 0), ("Artemis II", "critical", 4),
                                     ("Gateway Logistics", "normal", 2)):
            mission = Mission(next(self._ids), name, priority, crew, f"{name}: lunar operations")
            self._missions[mission.id] = mission

    def __len__(self) -> int:
        return len(self._missions)

    def list(self, offset: int, limit: int, priority: str | None = None) -> list[Mission]:
        missions = [m for m in self._missions.values() if priority is None or m.priority == priority]
        return missions[offset:offset + limit]

    def get(self, mission_id: int) -> Mission | None:
        return self._missions.get(mission_id)

    async def create(self, name: str, priority: str, crew: int, objective: str) -> Mission:
        async with self.pool.connection():
            await asyncio.sleep(self.hold)
            mission = Mission(next(self._ids), name, priority, crew, objective)
            self._missions[mission.id] = mission
            if len(self._missions) > self.capacity:  # bounded: the oldest created mission makes room
                oldest = next(k for k in self._missions if k > 3)
                del self._missions[oldest]
            return mission
