"""The reference service's ASGI application: health probes, a small missions API, /metrics and /admin/faults.

Routes (``route`` label of the request metrics is the template in the left column):

* ``GET /health`` - startup probe: 200 once initialised (after the warm-up), else 503.
* ``GET /health/live`` - liveness: 200 while the process runs.
* ``GET /health/ready`` - readiness: 503 while warming up, draining after SIGTERM, a dependency is down or
  the readiness fault is on; the body lists the reasons.
* ``GET /api/v1/status``, ``GET /api/v1/missions``, ``GET /api/v1/missions/{id}``, ``POST /api/v1/missions``
  - the API; bad query parameters or bodies answer 400 (unparsable) or 422 (invalid values).
  Writes go through a bounded connection pool (503 when it stays exhausted).
* ``GET /metrics`` - Prometheus exposition (names in metrics.py). With ``ARTEMIS_METRICS_TOKEN`` it wants that
  bearer token (none -> 401, wrong -> 403, both counted); with ``ARTEMIS_METRICS_PORT`` it is served on that
  port alone, which serves nothing else (see access.py).
* ``GET|PUT|DELETE /admin/faults`` - fault switches; bearer token: none -> 401, wrong -> 403, both counted.

While the ``service_down`` fault is on, every route but ``/admin/faults`` answers 503 before the metrics
middleware sees it: like a dead process, the service counts nothing and Prometheus' scrapes fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytest_artemis import __version__
from pytest_artemis.services.target.access import check_token, wrong_port
from pytest_artemis.services.target.faults import DEPENDENCIES, FaultError, Faults, Settings, Stall
from pytest_artemis.services.target.instruments import CONTENT_TYPE, Instruments
from pytest_artemis.services.target.pool import PRIORITIES, ConnectionPool, MissionStore, PoolExhausted

__all__ = ["Runtime", "create_app"]

log = logging.getLogger("artemis.target")
_MB = 1024 * 1024
_GROWTH_TICK = 0.1


class Runtime:
    """The service's mutable state: faults, initialisation, drain, pool, store and memory ballast."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.instruments = Instruments(__version__)
        self.started = time.monotonic()
        self.warm_until = self.started + settings.warmup_seconds
        self.init_until = self.warm_until + settings.faults.slow_startup_seconds
        self.draining = False
        self.faults = Faults()
        self.ballast: list[bytearray] = []
        self.random = random.Random()
        self.pool: ConnectionPool | None = None
        self.store: MissionStore | None = None
        self.stall = Stall()  # the stall fault's clock (its task runs in the lifespan)
        self.apply(settings.faults, at_start=True)

    # ------------------------------------------------------------------ state

    def initialising(self) -> bool:
        return time.monotonic() < self.init_until

    def not_ready_reasons(self) -> list[str]:
        reasons = []
        if self.initialising():
            reasons.append(f"initialising ({self.init_until - time.monotonic():.1f} s left)")
        if self.draining:
            reasons.append("draining after SIGTERM")
        if self.faults.readiness_down:
            reasons.append("readiness fault on")
        reasons.extend(f"dependency {name} down" for name in self.faults.dependencies_down)
        return reasons

    def refresh_gauges(self) -> None:
        self.instruments.ready.set(0 if self.not_ready_reasons() else 1)

    def apply(self, faults: Faults, *, at_start: bool = False) -> None:
        """Put ``faults`` in force and mirror them in the gauges."""
        if not at_start and faults.slow_startup_seconds != self.faults.slow_startup_seconds:
            self.init_until = max(self.warm_until, time.monotonic() + faults.slow_startup_seconds)
        if faults.memory_growth_mb_per_s == 0:
            self.ballast.clear()
        self.faults = faults
        self.stall.switch(faults)
        for name, on in faults.active().items():
            self.instruments.fault_active.labels(fault=name).set(1 if on else 0)
        for dependency in DEPENDENCIES:
            up = dependency not in faults.dependencies_down
            self.instruments.dependency_up.labels(dependency=dependency).set(1 if up else 0)
        self.instruments.set_memory_limit(faults.memory_limit_mb)
        self.instruments.set_unavailable_replicas(faults.unavailable_replicas)
        self.refresh_gauges()
        if not at_start or faults != Faults():
            log.info("faults in force: %s", json.dumps(faults.as_dict(), sort_keys=True))

    def ballast_mb(self) -> float:
        return sum(len(chunk) for chunk in self.ballast) / _MB

    def growth_cap_mb(self) -> float:
        """Ballast the memory growth fault may retain: the cap, or less under the memory limit fault."""
        limit = self.faults.memory_limit_mb
        return min(self.settings.memory_growth_cap_mb, limit) if limit > 0 else self.settings.memory_growth_cap_mb

    async def grow_memory(self) -> None:
        """Background task: retain ``memory_growth_mb_per_s`` more MB every second, up to the cap."""
        while True:
            await asyncio.sleep(_GROWTH_TICK)
            rate = self.faults.memory_growth_mb_per_s
            size = int(min(rate * _GROWTH_TICK, self.growth_cap_mb() - self.ballast_mb()) * _MB)
            if size > 0:
                self.ballast.append(bytearray(b"\xa5") * size)  # touched pages count in the resident memory

    def status(self) -> dict[str, Any]:
        return {"faults": self.faults.as_dict(), "active": self.faults.active(), "initialising": self.initialising(),
                "draining": self.draining, "ballast_mb": round(self.ballast_mb(), 1), "stalls": self.stall.count}


# ---------------------------------------------------------------------- metrics middleware


class MetricsMiddleware:
    """Counts every HTTP request by route template, method and status, and tracks requests in flight."""

    def __init__(self, app: ASGIApp, instruments: Instruments) -> None:
        self.app = app
        self.instruments = instruments
        self.runtime: Runtime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.runtime is not None and (misrouted := wrong_port(scope, self.runtime.settings.metrics_port)):
            await misrouted(scope, receive, send)
            return
        if self.runtime is not None and self.runtime.faults.service_down and not scope["path"].startswith("/admin/"):
            await _error(503, "injected fault: service down")(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.instruments.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.instruments.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.instruments.observe(template, scope["method"], status, time.perf_counter() - started)


# ---------------------------------------------------------------------- handlers


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def health(request: Request) -> Response:
    runtime = _runtime(request)
    if runtime.initialising():
        left = runtime.init_until - time.monotonic()
        return JSONResponse({"status": "initialising", "seconds_left": round(left, 2)}, status_code=503)
    return JSONResponse({"status": "ok"})


async def live(request: Request) -> Response:
    return JSONResponse({"status": "alive", "uptime_seconds": round(time.monotonic() - _runtime(request).started, 3)})


async def ready(request: Request) -> Response:
    runtime = _runtime(request)
    reasons = runtime.not_ready_reasons()
    runtime.instruments.ready.set(0 if reasons else 1)
    if reasons:
        return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    runtime = _runtime(request)
    if runtime.settings.metrics_token is not None and (denied := _authorise(request, "metrics")) is not None:
        return denied
    runtime.refresh_gauges()
    return Response(runtime.instruments.exposition(), media_type=CONTENT_TYPE)


async def _api_faults(runtime: Runtime) -> Response | None:
    """Apply the API faults: initialising -> 503, latency (with jitter), error ratio -> 500."""
    if runtime.initialising():
        return _error(503, "service initialising", retry_after_seconds=1)
    faults = runtime.faults
    if faults.latency_ms > 0 or faults.latency_jitter_ms > 0:
        jitter = runtime.random.uniform(-faults.latency_jitter_ms, faults.latency_jitter_ms)
        await asyncio.sleep(max(0.0, faults.latency_ms + jitter) / 1000)
    if faults.error_ratio > 0 and runtime.random.random() < faults.error_ratio:
        return _error(500, "injected fault: error ratio")
    return None


async def api_status(request: Request) -> Response:
    runtime = _runtime(request)
    if (fault := await _api_faults(runtime)) is not None:
        return fault
    assert runtime.pool is not None and runtime.store is not None
    return JSONResponse({
        "service": "artemis-reference", "version": __version__,
        "uptime_seconds": round(time.monotonic() - runtime.started, 3),
        "ready": not runtime.not_ready_reasons(),
        "dependencies": {d: d not in runtime.faults.dependencies_down for d in DEPENDENCIES},
        "missions": len(runtime.store),
        "pool": {"size": runtime.pool.size, "in_use": runtime.pool.in_use},
    })


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.strip().lstrip("-").isdigit():
        raise ValueError(f"query parameter {name}: expected a whole number, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"query parameter {name}: expected {low}..{high}, got {value}")
    return value


async def list_missions(request: Request) -> Response:
    runtime = _runtime(request)
    if (fault := await _api_faults(runtime)) is not None:
        return fault
    assert runtime.store is not None
    try:
        limit = _int_param(request, "limit", 20, 1, 100)
        offset = _int_param(request, "offset", 0, 0, 1_000_000)
    except ValueError as err:
        return _error(400, str(err))
    priority = request.query_params.get("priority")
    if priority is not None and priority not in PRIORITIES:
        return _error(400, f"query parameter priority: expected one of {', '.join(PRIORITIES)}, got {priority!r}")
    items = runtime.store.list(offset, limit, priority)
    return JSONResponse({"items": [m.as_dict() for m in items], "total": len(runtime.store),
                         "offset": offset, "limit": limit})


async def get_mission(request: Request) -> Response:
    runtime = _runtime(request)
    if (fault := await _api_faults(runtime)) is not None:
        return fault
    assert runtime.store is not None
    mission_id: int = request.path_params["mission_id"]
    mission = runtime.store.get(mission_id)
    if mission is None:
        return _error(404, f"mission {mission_id} not found")
    return JSONResponse(mission.as_dict())


def validate_mission(body: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The mission fields of a create request and the list of problems (empty when valid)."""
    if not isinstance(body, dict):
        return {}, [{"field": "(body)", "problem": f"expected a JSON object, got {type(body).__name__}"}]
    problems: list[dict[str, str]] = []
    allowed = {"name", "priority", "crew", "objective"}
    problems += [{"field": key, "problem": "unknown field"} for key in sorted(set(body) - allowed)]
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
        problems.append({"field": "name", "problem": "required: a string of 1 to 80 characters"})
    priority = body.get("priority", "normal")
    if priority not in PRIORITIES:
        problems.append({"field": "priority", "problem": f"expected one of {', '.join(PRIORITIES)}"})
    crew = body.get("crew", 0)
    if isinstance(crew, bool) or not isinstance(crew, int) or not 0 <= crew <= 12:
        problems.append({"field": "crew", "problem": "expected a whole number from 0 to 12"})
    objective = body.get("objective", "")
    if not isinstance(objective, str) or len(objective) > 500:
        problems.append({"field": "objective", "problem": "expected a string of at most 500 characters"})
    fields = {"name": name.strip() if isinstance(name, str) else name, "priority": priority, "crew": crew,
              "objective": objective}
    return fields, problems


async def create_mission(request: Request) -> Response:
    runtime = _runtime(request)
    if (fault := await _api_faults(runtime)) is not None:
        return fault
    assert runtime.store is not None
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return _error(400, f"request body is not valid JSON: {err}")
    fields, problems = validate_mission(body)
    if problems:
        return _error(422, "invalid mission", problems=problems)
    try:
        mission = await runtime.store.create(**fields)
    except PoolExhausted as err:
        return _error(503, str(err), retry_after_seconds=1)
    return JSONResponse(mission.as_dict(), status_code=201, headers={"Location": f"/api/v1/missions/{mission.id}"})


def _authorise(request: Request, area: str = "admin") -> Response | None:
    """None when the bearer token of ``area`` (admin or metrics) matches; else 401 (missing) or 403 (wrong),
    counted as a failed auth."""
    runtime = _runtime(request)
    header = request.headers.get("authorization", "")
    if area == "metrics":
        problem = check_token(header, runtime.settings.metrics_token, realm="artemis-metrics", allow_basic=True)
    else:
        problem = check_token(header, runtime.settings.admin_token, realm="artemis-admin",
                              disabled="admin endpoint disabled: start the service with ARTEMIS_ADMIN_TOKEN set")
    if problem is None:
        return None
    runtime.instruments.auth_failures.labels(endpoint=request.url.path).inc()
    log.warning("%s auth failed (%s) from %s", area, problem.status_code,
                request.client.host if request.client else "?")
    return problem


async def admin_faults(request: Request) -> Response:
    if (denied := _authorise(request)) is not None:
        return denied
    runtime = _runtime(request)
    if request.method == "PUT":
        try:
            changes = json.loads(await request.body() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return _error(400, f"request body is not valid JSON: {err}")
        try:
            runtime.apply(runtime.faults.merged(changes))
        except FaultError as err:
            return _error(422, str(err))
    elif request.method == "DELETE":
        runtime.apply(Faults())
    return JSONResponse(runtime.status())


# ---------------------------------------------------------------------- application


def create_app(settings: Settings | None = None) -> MetricsMiddleware:
    """The ASGI application (Starlette wrapped in the metrics middleware) for ``settings``."""
    runtime = Runtime(settings or Settings.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        inst = runtime.instruments
        runtime.pool = ConnectionPool("database", runtime.settings.pool_size, runtime.settings.pool_timeout_seconds,
                                      inst.pool_in_use, inst.pool_size)
        runtime.store = MissionStore(runtime.pool, runtime.settings.write_hold_ms / 1000)
        tasks = [asyncio.create_task(runtime.grow_memory()), asyncio.create_task(runtime.stall.run())]
        log.info("reference service up; initialised in %.1f s", max(0.0, runtime.init_until - time.monotonic()))
        try:
            yield
        finally:
            for background in tasks:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/health/live", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/v1/status", api_status, methods=["GET"]),
        Route("/api/v1/missions", list_missions, methods=["GET"]),
        Route("/api/v1/missions", create_mission, methods=["POST"]),
        Route("/api/v1/missions/{mission_id:int}", get_mission, methods=["GET"]),
        Route("/admin/faults", admin_faults, methods=["GET", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    wrapped = MetricsMiddleware(app, runtime.instruments)
    wrapped.runtime = runtime
    return wrapped
