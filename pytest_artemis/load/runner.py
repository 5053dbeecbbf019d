"""Run a :class:`~pytest_artemis.load.scenarios.Plan` on Locust child processes and stream its statistics back.

Locust never runs in this process. :class:`LoadRunner` writes the plan as a spec file, starts
``python -m pytest_artemis.load.child`` (one local process, or a master plus N workers on free loopback
ports) through :class:`~pytest_artemis.services.processes.ManagedProcess`, tails the one-second sample
lines the children write (:mod:`pytest_artemis.load.tails`), samples the target's health (availability) and resident memory
(:mod:`pytest_artemis.load.probes`), switches the chaos faults on schedule, feeds the live
:class:`~pytest_artemis.load.gates.WindowMonitor` (aborting on a sustained breach), watches the workers and
the target (:mod:`pytest_artemis.load.supervise`: a lost worker makes the run invalid and stops it, a target
that refuses every connection for ``target_down_seconds`` aborts it), and always stops every child, also on
error or interrupt. No pytest imports here.

The target URL's credentials and query never reach a file: the spec carries the clean host, the children
get the full URL in their environment (:data:`TARGET_ENV`), and every message shows it redacted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pytest_artemis.errors import LoadError
from pytest_artemis.guard import ensure_traffic_allowed
from pytest_artemis.load.monitor import WindowMonitor
from pytest_artemis.load.probes import Sampler, TargetURL, preflight, read_resident_memory, steady_state
from pytest_artemis.load.results import RunResult, Sample, merge_samples
from pytest_artemis.load.scenarios import FaultEvent, Plan
from pytest_artemis.load.supervise import TargetDownWatch, WorkerWatch
from pytest_artemis.load.tails import FileTail, LogTail
from pytest_artemis.redact import redact
from pytest_artemis.services.processes import ManagedProcess, free_port

__all__ = [
    "TARGET_ENV",
    "LoadRunner",
    "Progress",
    "RunOptions",
    "admin_fault_switch",
    "preflight",
    "read_resident_memory",
    "steady_state",
]

FaultSwitch = Callable[[str, "Mapping[str, Any] | None"], None]
#: The environment variable that hands the full target URL (credentials, query) to the Locust children.
TARGET_ENV = "ARTEMIS_LOAD_TARGET_URL"


@dataclass(frozen=True)
class Progress:
    """What the live progress line shows."""

    scenario: str
    elapsed: float
    planned: float
    users: int
    rps: float
    p95_ms: float | None
    failures: int


@dataclass
class RunOptions:
    """Where and how to run: the target, the user code, and the hooks the fixtures plug in.

    ``target_down_seconds``: abort the run when every request failed to connect for this long (0: never).
    ``worker_connect_seconds``: how long the master waits for all workers to connect before the run is invalid.
    """

    target: str
    run_dir: Path
    locustfile: Path | None = None
    paths: tuple[str, ...] = ()  # without a locustfile: GET these paths in turn (empty: the reference service's mix)
    health_path: str = "/health/ready"
    metrics_path: str | None = "/metrics"
    memory_source: Callable[[], float | None] | None = None
    memory_source_name: str = ""  # where memory_source reads from, for messages ("" = the target's metrics path)
    fault_switch: FaultSwitch | None = None
    monitors: list[WindowMonitor] = field(default_factory=list)
    progress: Callable[[Progress], None] | None = None
    environment: str = "local"
    allow_production: bool = False
    health_interval: float = 0.25
    python: str = sys.executable
    target_down_seconds: float = 3.0
    worker_connect_seconds: float = 20.0

    def __repr__(self) -> str:  # pytest shows reprs in tracebacks: never the target's credentials
        return f"RunOptions(target={redact(self.target)!r}, run_dir={str(self.run_dir)!r})"


def locust_host(target: TargetURL) -> str:
    """The host Locust is given: the target without credentials and without its query (added per request)."""
    parts = urlsplit(target.base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def admin_fault_switch(admin: Any) -> FaultSwitch:
    """Switch the chaos faults (latency, errors, readiness) and the stall through the reference service's admin
    client."""

    def switch(fault: str, settings: Mapping[str, Any] | None) -> None:
        on = settings is not None
        settings = settings or {}
        if fault == "latency":
            admin.set(latency_ms=settings.get("ms", 0) if on else 0,
                      latency_jitter_ms=settings.get("jitter_ms", 0) if on else 0)
        elif fault == "errors":
            admin.set(error_ratio=settings.get("ratio", 0) if on else 0)
        elif fault == "readiness":
            admin.set(readiness_down=on)
        elif fault == "stall":
            admin.set(stall_ms=settings.get("ms", 0) if on else 0, stall_every_s=settings.get("every_s", 0) if on else 0)
        else:
            raise LoadError(f"chaos fault {fault!r} is unknown; known: latency, errors, readiness, stall")

    return switch


class LoadRunner:
    """Runs plans; every child it starts is stopped before :meth:`run` returns or raises.

    ``last_pids`` (all children, master or local first) and ``last_roles`` (role -> pid) fill in as the
    children start, so another thread can see them while :meth:`run` goes.
    """

    def __init__(self) -> None:
        self.last_pids: list[int] = []
        self.last_children: list[str] = []  # names: "Locust worker-1", "Locust master pod"
        self.last_roles: dict[str, int] = {}

    def run(self, plan: Plan, options: RunOptions) -> RunResult:
        target = TargetURL.parse(options.target)
        ensure_traffic_allowed(options.environment, options.allow_production,
                               f"{plan.scenario} scenario traffic to {target.shown()}")
        preflight(target, options.health_path)
        run_dir = options.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        for old in run_dir.glob("samples-*.jsonl"):
            old.unlink()
        port = free_port() if plan.workers else 0
        spec = {**plan.as_dict(), "host": locust_host(target), "target_shown": target.shown(),
                "max_seconds": plan.max_seconds, "master_port": port, "worker_wait": options.worker_connect_seconds,
                "locustfile": str(options.locustfile) if options.locustfile else None, "paths": list(options.paths)}
        roles = ["local"] if not plan.workers else ["master"] + [f"worker-{i + 1}" for i in range(plan.workers)]
        self.last_pids, self.last_roles, self.last_children = [], {}, []
        state = _RunState(plan, options, target, run_dir, roles)
        processes: list[Any] = []
        try:
            processes, tails = self.launch(spec, roles, options)
            state.tails = tails
            self.last_children = [str(p.name) for p in processes]
            for role, process in zip(roles, processes, strict=True):
                if process.pid is not None:
                    self.last_pids.append(process.pid)
                    self.last_roles[role] = process.pid
            state.workers.pids = {role: self.last_roles.get(role) for role in roles[1:]}
            state.loop(processes)
        finally:
            state.sampler.stop_event.set()
            for process in processes:  # master (or local) first: it tells the workers to quit
                process.stop()
            self.cleanup()
            state.faults_off()
            if state.sampler.is_alive():
                state.sampler.join(2.0)
        return state.result()

    def launch(self, spec: dict[str, Any], roles: list[str], options: RunOptions
               ) -> tuple[list[Any], dict[str, LogTail]]:
        """Start one child per role (master or local first); (the started children, their sample tails)."""
        run_dir = options.run_dir
        spec_path = run_dir / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
        env = {**os.environ, TARGET_ENV: options.target}
        processes = [ManagedProcess(f"Locust {role}", [options.python, "-m", "pytest_artemis.load.child",
                                                       "--spec", str(spec_path), "--role", role],
                                    log_path=run_dir / f"locust-{role}.log", env=env, stop_timeout=8.0)
                     for role in roles]
        started: list[Any] = []
        try:
            for process in processes:
                process.start()
                started.append(process)
        except BaseException:
            for process in started:
                process.stop()
            raise
        return processes, {role: FileTail(run_dir / f"samples-{role}.jsonl") for role in roles}

    def cleanup(self) -> None:
        """After every child stopped: what the run leaves to remove (nothing for local children)."""


class _RunState:
    """The bookkeeping of one run while it goes."""

    def __init__(self, plan: Plan, options: RunOptions, target: TargetURL, run_dir: Path, roles: list[str]) -> None:
        self.plan, self.options, self.target, self.run_dir, self.roles = plan, options, target, run_dir, roles
        self.tails: dict[str, LogTail] = {}
        self.lines: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.started: float | None = None
        self.aborted = ""
        self.stop_sent = False
        self.sampler = Sampler(target, options.health_path, options.health_interval,
                               lambda: self.started or time.time(), options.memory_source, options.metrics_path)
        self.sampler_started = False
        self.workers = WorkerWatch({role: None for role in roles[1:]})
        self.down = TargetDownWatch(options.target_down_seconds, target.shown())
        self.pending_faults: list[FaultEvent] = sorted(plan.faults, key=lambda f: f.at)
        self.active_faults: list[FaultEvent] = []
        self.fault_log: list[dict[str, Any]] = []
        self.fed: set[int] = set()

    def _read(self, fresh: bool = False) -> None:
        for tail in self.tails.values():
            for data in tail.read(fresh):
                if "event" in data:
                    self.events.append(data)
                    if data["event"] == "started" and data["role"] in ("local", "master") and self.started is None:
                        self.started = float(data["time"])
                elif "t" in data:
                    self.lines.append(data)
                    self.down.feed(data)

    def _stop(self, head: ManagedProcess) -> None:
        """Ask the master (or the local process) to end the run now; it still writes its reports."""
        if not self.stop_sent:
            self.stop_sent = True
            head.signal(signal.SIGTERM)

    def _switch(self, fault: str, settings: Mapping[str, Any] | None, elapsed: float) -> None:
        if self.options.fault_switch is None:
            return
        self.options.fault_switch(fault, settings)
        self.fault_log.append({"t": round(elapsed, 3), "fault": fault, "on": settings is not None,
                               "settings": dict(settings or {})})

    def _faults(self, elapsed: float) -> None:
        while self.pending_faults and self.pending_faults[0].at <= elapsed:
            event = self.pending_faults.pop(0)
            self._switch(event.fault, event.settings, elapsed)
            self.active_faults.append(event)
        for event in [e for e in self.active_faults if e.until <= elapsed]:
            self.active_faults.remove(event)
            self._switch(event.fault, None, elapsed)

    def faults_off(self) -> None:
        for event in list(self.active_faults):
            self.active_faults.remove(event)
            with contextlib.suppress(Exception):  # best effort; the fixture resets the target too
                self._switch(event.fault, None, time.time() - (self.started or time.time()))

    def _monitor(self, head: ManagedProcess) -> None:
        if not self.options.monitors or self.started is None:
            return
        now_second = int(time.time())
        complete = [line for line in self.lines if int(line["t"]) < now_second - 1]
        for sample in merge_samples(complete, self.started, self.plan.arrival):
            key = int(sample.t)
            if key in self.fed:
                continue
            self.fed.add(key)
            for monitor in self.options.monitors:
                monitor.feed(sample)
                if monitor.abort is not None and not self.aborted:
                    self.aborted = (f"{monitor.describe(monitor.abort)}, sustained for "
                                    f"{monitor.abort_after:g} s")
                    self._stop(head)

    def _supervise(self, processes: list[ManagedProcess]) -> None:
        """Lost workers make the run invalid, a target refusing every connection aborts it; both stop it."""
        head = processes[0]
        self.workers.events(self.events, self.started)
        for role, process in zip(self.roles[1:], processes[1:], strict=True):
            if not process.alive and not self.workers.stopping:
                self._read(fresh=True)  # the master may have announced the end, or the worker its error, meanwhile
                self.workers.events(self.events, self.started)
                if any(e["event"] == "error" for e in self.events):
                    return
                self.workers.exited(role, process.returncode,
                                    time.time() - self.started if self.started is not None else None)
        if self.workers.invalid:
            self._stop(head)
        if self.started is not None and not self.aborted:
            reason = self.down.check(time.time(), self.started)
            if reason:
                self.aborted = reason
                self._stop(head)

    def _progress(self, elapsed: float) -> None:
        if self.options.progress is None or self.started is None:
            return
        now_second = int(time.time())
        recent = [line for line in self.lines if int(line["t"]) == now_second - 1]
        sample = merge_samples(recent, self.started, self.plan.arrival)
        s = sample[-1] if sample else Sample(0)
        failures = sum(int(e.get("fail", 0)) for line in self.lines for e in line.get("endpoints", {}).values())
        self.options.progress(Progress(self.plan.scenario, elapsed, self.plan.duration, s.users, s.rps,
                                       s.total.p(95), failures))

    def loop(self, processes: list[ManagedProcess]) -> None:
        head = processes[0]
        grace = 20 + (self.options.worker_connect_seconds if self.plan.workers else 0)
        deadline = time.time() + self.plan.max_seconds + grace
        last_progress = 0.0
        while True:
            self._read()
            if self.started is not None and not self.sampler_started:
                self.sampler.start()
                self.sampler_started = True
            errors = [e for e in self.events if e["event"] == "error"]
            if errors:
                raise LoadError(redact(errors[0]["message"]) + f" (Locust {errors[0]['role']}; log: "
                                f"{self.run_dir / ('locust-' + errors[0]['role'] + '.log')})")
            if not head.alive:
                code = head.returncode
                self._read(fresh=True)
                self.workers.events(self.events, self.started)
                if code not in (0, None) and not self.workers.invalid:
                    raise LoadError(self._crash_message(head, code))
                return
            self._supervise(processes)
            if self.started is not None:
                elapsed = time.time() - self.started
                self._faults(elapsed)
                self._monitor(head)
                if time.time() - last_progress >= 1.0:
                    last_progress = time.time()
                    self._progress(elapsed)
            if time.time() > deadline:
                raise LoadError(f"{self.plan.scenario}: Locust did not finish within its bound of "
                                f"{self.plan.max_seconds:.0f} s (+{grace:g} s grace); stopped it; log: {head.log_path}")
            time.sleep(0.1)

    def _crash_message(self, head: ManagedProcess, code: int) -> str:
        tail = head.log_tail(40)
        marked = [line.split("ARTEMIS-ERROR ", 1)[1] for line in tail.splitlines() if "ARTEMIS-ERROR " in line]
        if marked:
            return redact(marked[-1]) + f" (log: {head.log_path})"
        return redact(f"{head.name} exited with code {code}; log: {head.log_path}\n{tail}")

    def result(self) -> RunResult:
        self._read(fresh=True)
        self.workers.events(self.events, self.started)
        started = self.started or time.time()
        finished = [e for e in self.events if e["event"] == "finished" and e["role"] in ("local", "master")]
        ended = finished[-1]["time"] if finished else time.time()
        artifacts = {p.name: str(p) for p in sorted(self.run_dir.glob("locust*")) if p.is_file()}
        artifacts.update({p.name: str(p) for p in sorted(self.run_dir.glob("samples-*.jsonl"))})
        down_at = self.down.down_at
        return RunResult(
            plan=self.plan, samples=merge_samples(self.lines, started, self.plan.arrival), started=started, ended=ended,
            health=list(self.sampler.health), memory=list(self.sampler.memory),
            cpu_warnings=[e["role"] for e in self.events if e["event"] == "cpu_warning"], aborted=self.aborted,
            end_reason=str(finished[-1].get("reason", "")) if finished else "no end reported",
            fault_log=self.fault_log, artifacts=artifacts, target=self.target.shown(),
            memory_source=self.options.memory_source_name if self.options.memory_source is not None
            else self.target.shown(self.options.metrics_path or ""),
            invalid=self.workers.invalid, lost_workers=[lost.as_dict() for lost in self.workers.lost],
            target_down_at=None if down_at is None else round(down_at - started, 3))
