"""Run a :class:`~pytest_artemis.load.scenarios.Plan` on Locust child processes and stream its statistics back.

Locust never runs in this process. :class:`LoadRunner` writes the plan as a spec file, starts
``python -m pytest_artemis.load.child`` (one local process, or a master plus N workers on free loopback
ports) through :class:`~pytest_artemis.services.processes.ManagedProcess`, tails the one-second sample
lines the children write, samples the target's health (availability) and resident memory, switches the
chaos faults on schedule, feeds the live :class:`~pytest_artemis.load.gates.WindowMonitor` (aborting on a
sustained breach), and always stops every child, also on error or interrupt. No pytest imports here.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_artemis.errors import LoadError, TargetUnreachableError
from pytest_artemis.load.monitor import WindowMonitor
from pytest_artemis.load.results import RunResult, Sample, merge_samples
from pytest_artemis.load.scenarios import FaultEvent, Plan
from pytest_artemis.services.processes import ManagedProcess, free_port

__all__ = [
    "LoadRunner",
    "Progress",
    "RunOptions",
    "admin_fault_switch",
    "preflight",
    "read_resident_memory",
    "steady_state",
]

FaultSwitch = Callable[[str, "Mapping[str, Any] | None"], None]
_RSS = re.compile(r"^process_resident_memory_bytes(?:\{[^}]*\})?\s+([0-9.eE+]+)", re.MULTILINE)


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
    """Where and how to run: the target, the user code, and the hooks the fixtures plug in."""

    target: str
    run_dir: Path
    locustfile: Path | None = None
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


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), b""


def preflight(target: str, health_path: str, timeout: float = 3.0) -> None:
    """The target's health endpoint must answer 2xx before any load; else one line naming URL and failure."""
    url = target.rstrip("/") + health_path
    try:
        status, _ = _get(url, timeout)
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise TargetUnreachableError(f"preflight: GET {url} failed: {reason}; no load was sent") from err
    if not 200 <= status < 300:
        raise TargetUnreachableError(f"preflight: GET {url} answered HTTP {status}; no load was sent")


def read_resident_memory(target: str, metrics_path: str = "/metrics", timeout: float = 1.0) -> float | None:
    """process_resident_memory_bytes from the target's exposition, None when absent or unreachable."""
    try:
        status, body = _get(target.rstrip("/") + metrics_path, timeout)
    except (OSError, ValueError):
        return None
    match = _RSS.search(body.decode("utf-8", "replace")) if status == 200 else None
    return float(match.group(1)) if match else None


def steady_state(target: str, paths: tuple[str, ...], requests: int = 20, timeout: float = 2.0
                 ) -> tuple[float, float | None, list[str]]:
    """Probe ``paths`` round-robin ``requests`` times: (share answered 2xx in %, p95 ms, problems seen)."""
    times, problems, ok = [], [], 0
    for i in range(requests):
        url = target.rstrip("/") + paths[i % len(paths)]
        began = time.perf_counter()
        try:
            status, _ = _get(url, timeout)
        except (OSError, ValueError) as err:
            problems.append(f"GET {url}: {getattr(err, 'reason', err)}")
            continue
        times.append((time.perf_counter() - began) * 1000)
        if 200 <= status < 300:
            ok += 1
        else:
            problems.append(f"GET {url}: HTTP {status}")
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95 + 0.999999) - 1)] if times else None
    return 100.0 * ok / requests, p95, problems


def admin_fault_switch(admin: Any) -> FaultSwitch:
    """Switch the chaos faults (latency, errors, readiness) through the reference service's admin client."""

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
        else:
            raise LoadError(f"chaos fault {fault!r} is unknown; known: latency, errors, readiness")

    return switch


class _Sampler(threading.Thread):
    """Samples health (availability) and resident memory of the target while the run goes."""

    def __init__(self, options: RunOptions, started: Callable[[], float]) -> None:
        super().__init__(name="artemis-load-sampler", daemon=True)
        self.options, self.started = options, started
        self.stop_event = threading.Event()
        self.health: list[tuple[float, bool]] = []
        self.memory: list[tuple[float, float]] = []

    def run(self) -> None:
        url = self.options.target.rstrip("/") + self.options.health_path
        next_memory = 0.0
        while not self.stop_event.is_set():
            now = time.time()
            try:
                ok = 200 <= _get(url, 1.0)[0] < 300
            except (OSError, ValueError):
                ok = False
            self.health.append((now - self.started(), ok))
            if now >= next_memory:
                next_memory = now + 1.0
                value = (self.options.memory_source() if self.options.memory_source is not None else
                         read_resident_memory(self.options.target, self.options.metrics_path)
                         if self.options.metrics_path else None)
                if value is not None:
                    self.memory.append((now - self.started(), value))
            self.stop_event.wait(max(0.0, self.options.health_interval - (time.time() - now)))


class _Tail:
    """Reads the complete lines appended to one file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.partial = path, 0, ""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("r", encoding="utf-8") as fh:
                fh.seek(self.offset)
                text = fh.read()
                self.offset = fh.tell()
        except FileNotFoundError:
            return []
        text, self.partial = self.partial + text, ""
        lines = text.split("\n")
        self.partial = lines.pop()
        out = []
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


class LoadRunner:
    """Runs plans; every child it starts is stopped before :meth:`run` returns or raises."""

    def __init__(self) -> None:
        self.last_pids: list[int] = []

    def run(self, plan: Plan, options: RunOptions) -> RunResult:
        if options.environment == "production" and not options.allow_production:
            raise LoadError(f"refusing to send {plan.scenario} load to {options.target}: the environment is "
                            "production; pass --artemis-allow-production-load to allow it")
        preflight(options.target, options.health_path)
        run_dir = options.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        for old in run_dir.glob("samples-*.jsonl"):
            old.unlink()
        port = free_port() if plan.workers else 0
        spec = {**plan.as_dict(), "host": options.target, "max_seconds": plan.max_seconds, "master_port": port,
                "locustfile": str(options.locustfile) if options.locustfile else None}
        spec_path = run_dir / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
        roles = ["local"] if not plan.workers else ["master"] + [f"worker-{i + 1}" for i in range(plan.workers)]
        processes = [ManagedProcess(f"Locust {role}", [options.python, "-m", "pytest_artemis.load.child",
                                                       "--spec", str(spec_path), "--role", role],
                                    log_path=run_dir / f"locust-{role}.log", stop_timeout=8.0) for role in roles]
        self.last_pids = []
        state = _RunState(plan, options, run_dir, roles)
        try:
            for process in processes:
                process.start()
                assert process.pid is not None
                self.last_pids.append(process.pid)
            state.loop(processes[0])
        finally:
            state.sampler.stop_event.set()
            for process in processes:  # master (or local) first: it tells the workers to quit
                process.stop()
            state.faults_off()
            if state.sampler.is_alive():
                state.sampler.join(2.0)
        return state.result(processes[0])


class _RunState:
    """The bookkeeping of one run while it goes."""

    def __init__(self, plan: Plan, options: RunOptions, run_dir: Path, roles: list[str]) -> None:
        self.plan, self.options, self.run_dir = plan, options, run_dir
        self.tails = {role: _Tail(run_dir / f"samples-{role}.jsonl") for role in roles}
        self.lines: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.started: float | None = None
        self.aborted = ""
        self.sampler = _Sampler(options, lambda: self.started or time.time())
        self.pending_faults: list[FaultEvent] = sorted(plan.faults, key=lambda f: f.at)
        self.active_faults: list[FaultEvent] = []
        self.fault_log: list[dict[str, Any]] = []
        self.fed: set[int] = set()

    def _read(self) -> None:
        for tail in self.tails.values():
            for data in tail.read():
                if "event" in data:
                    self.events.append(data)
                    if data["event"] == "started" and data["role"] in ("local", "master") and self.started is None:
                        self.started = float(data["time"])
                elif "t" in data:
                    self.lines.append(data)

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
        for sample in merge_samples(complete, self.started):
            key = int(sample.t)
            if key in self.fed:
                continue
            self.fed.add(key)
            for monitor in self.options.monitors:
                monitor.feed(sample)
                if monitor.abort is not None and not self.aborted:
                    self.aborted = (f"{monitor.describe(monitor.abort)}, sustained for "
                                    f"{monitor.abort_after:g} s")
                    head.signal(15)

    def _progress(self, elapsed: float) -> None:
        if self.options.progress is None or self.started is None:
            return
        now_second = int(time.time())
        recent = [line for line in self.lines if int(line["t"]) == now_second - 1]
        sample = merge_samples(recent, self.started)
        s = sample[-1] if sample else Sample(0)
        failures = sum(int(e.get("fail", 0)) for line in self.lines for e in line.get("endpoints", {}).values())
        self.options.progress(Progress(self.plan.scenario, elapsed, self.plan.duration, s.users, s.rps,
                                       s.total.p(95), failures))

    def loop(self, head: ManagedProcess) -> None:
        deadline = time.time() + self.plan.max_seconds + 20 + (20 if self.plan.workers else 0)
        self.sampler_started = False
        last_progress = 0.0
        while True:
            self._read()
            if self.started is not None and not self.sampler_started:
                self.sampler.start()
                self.sampler_started = True
            errors = [e for e in self.events if e["event"] == "error"]
            if errors:
                raise LoadError(errors[0]["message"] + f" (Locust {errors[0]['role']}; log: "
                                f"{self.run_dir / ('locust-' + errors[0]['role'] + '.log')})")
            if not head.alive:
                code = head.returncode
                self._read()
                if code not in (0, None):
                    raise LoadError(self._crash_message(head, code))
                return
            if self.started is not None:
                elapsed = time.time() - self.started
                self._faults(elapsed)
                self._monitor(head)
                if time.time() - last_progress >= 1.0:
                    last_progress = time.time()
                    self._progress(elapsed)
            if time.time() > deadline:
                raise LoadError(f"{self.plan.scenario}: Locust did not finish within its bound of "
                                f"{self.plan.max_seconds:.0f} s (+20 s grace); stopped it; log: {head.log_path}")
            time.sleep(0.1)

    def _crash_message(self, head: ManagedProcess, code: int) -> str:
        tail = head.log_tail(40)
        marked = [line.split("ARTEMIS-ERROR ", 1)[1] for line in tail.splitlines() if "ARTEMIS-ERROR " in line]
        if marked:
            return marked[-1] + f" (log: {head.log_path})"
        return f"{head.name} exited with code {code}; log: {head.log_path}\n{tail}"

    def result(self, head: ManagedProcess) -> RunResult:
        self._read()
        started = self.started or time.time()
        finished = [e for e in self.events if e["event"] == "finished" and e["role"] in ("local", "master")]
        ended = finished[-1]["time"] if finished else time.time()
        artifacts = {p.name: str(p) for p in sorted(self.run_dir.glob("locust*")) if p.is_file()}
        artifacts.update({p.name: str(p) for p in sorted(self.run_dir.glob("samples-*.jsonl"))})
        return RunResult(
            plan=self.plan, samples=merge_samples(self.lines, started), started=started, ended=ended,
            health=list(self.sampler.health), memory=list(self.sampler.memory),
            cpu_warnings=[e["role"] for e in self.events if e["event"] == "cpu_warning"], aborted=self.aborted,
            end_reason=str(finished[-1].get("reason", "")) if finished else "no end reported",
            fault_log=self.fault_log, artifacts=artifacts, target=self.options.target,
            memory_source=self.options.memory_source_name if self.options.memory_source is not None
            else f"{self.options.target}{self.options.metrics_path or ''}")
