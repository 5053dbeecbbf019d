"""Entry point of the Locust child processes: ``python -m pytest_artemis.load.child --spec FILE --role ROLE``.

Locust is imported here and nowhere else (it patches the standard library with gevent, which must
happen before anything imports urllib3; the pytest process never imports it). Roles: ``local`` (one
process does everything), ``master`` (runs the shape, writes Locust's CSV and HTML report) and
``worker-N`` (runs users, connects to the master on loopback).

Every process writes one JSON line per wall-clock second to ``samples-ROLE.jsonl`` in the run
directory: users, its own CPU %, and per endpoint the request count, failures, and a histogram of
*unrounded* response times from Locust's ``request`` event (``h``, from the actual send) and of the same
times from each request's intended start (``hc``: plus how late it started against its schedule, see
:mod:`pytest_artemis.load.arrival`; left out of a second in which no request started late, where it equals ``h``).
In arrival mode (spec ``mode``) every process runs one
:class:`~pytest_artemis.load.arrival.ArrivalDriver` playing its share of the schedule, and its lines also carry
the scheduled starts it dropped that second (``dropped``) and the requests in flight (``in_flight``).
A line ``{"event": ...}`` reports start, CPU warnings, errors and the end. SIGTERM ends the run
gracefully (reports are still written); the run also ends at its request budget or time bound.

For the runner's supervision (:mod:`pytest_artemis.load.supervise`) every process that runs users also
writes, in each line, how many requests it sent (``sent``) and whether its latest requests all failed to
connect (``down``: since when, how many, the error; ``null`` once the target answers again). A worker
reports its Locust client id (``worker-started``); the master reports a worker it stopped counting
(``worker_lost``: it went missing or quit), workers that never connected (``workers_short``) and the start
of its own end (``stopping``: workers quitting after that are no loss).

The target URL's credentials and query come in the environment (``ARTEMIS_LOAD_TARGET_URL``), never in
the spec, and everything written here goes through :func:`pytest_artemis.redact.redact`
(:mod:`pytest_artemis.load.locust_target`).
"""

from __future__ import annotations

# isort: off
import locust  # first: Locust patches the standard library with gevent on import

# isort: on
import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import gevent
from locust import runners as locust_runners
from locust.env import Environment
from locust.html import get_html_report
from locust.shape import LoadTestShape
from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter
from locust.util.load_locustfile import load_locustfile

from pytest_artemis.load import arrival
from pytest_artemis.load.locust_target import apply_target, redact_locust
from pytest_artemis.load.samples import Stream
from pytest_artemis.load.shapes import Shape
from pytest_artemis.redact import redact

__all__ = ["main"]

EXIT_BAD_LOCUSTFILE = 3
EXIT_NO_WORKERS = 4
EXIT_CRASH = 5
TARGET_ENV = "ARTEMIS_LOAD_TARGET_URL"  # the same name as pytest_artemis.load.runner.TARGET_ENV
MASTER_HOST_ENV = "ARTEMIS_LOAD_MASTER_HOST"


def _shape_class(shape: Shape, spec: dict[str, Any]) -> type[LoadTestShape]:
    if spec.get("mode") == "arrival":  # one driver per process until every share is done (or the drain is over)
        processes = max(1, int(spec.get("workers") or 0))

        class ArrivalShape(LoadTestShape):
            def tick(self) -> tuple[int, float] | None:
                if arrival.state.done >= processes or self.get_run_time() > shape.duration + arrival.DRAIN_SECONDS:
                    return None
                return processes, float(processes)

        return ArrivalShape

    class ArtemisShape(LoadTestShape):
        def tick(self) -> tuple[int, float] | None:
            return shape.tick(self.get_run_time())

    return ArtemisShape


def _user_classes(spec: dict[str, Any]) -> list[type]:
    path = spec.get("locustfile")
    if not path:
        os.environ["ARTEMIS_LOAD_RATE"] = str(spec["rate_per_user"])
        if spec.get("paths"):
            os.environ["ARTEMIS_LOAD_PATHS"] = json.dumps(list(spec["paths"]))
        from pytest_artemis.load import locustfile as default_mix

        return [default_mix.SiteUser if spec.get("paths") else default_mix.MissionControlUser]
    try:
        user_classes, _shapes = load_locustfile(str(path))
    except SystemExit as err:
        raise ValueError(f"locustfile {path} could not be loaded (exit {err.code})") from err
    except Exception as err:
        where = ""
        tb = traceback.extract_tb(err.__traceback__)
        frames = [f for f in tb if f.filename == str(path)]
        if frames:
            where = f" line {frames[-1].lineno}"
        elif isinstance(err, SyntaxError) and err.lineno:
            where = f" line {err.lineno}"
        raise ValueError(f"locustfile {path}{where}: {type(err).__name__}: {err}") from err
    classes = [cls for cls in user_classes.values() if not getattr(cls, "abstract", False)]
    if not classes:
        raise ValueError(f"locustfile {path}: defines no Locust user class (HttpUser or FastHttpUser subclass)")
    return classes


def _reports(env: Environment, run_dir: Path, csv_writer: StatsCSVFileWriter | None) -> None:
    if csv_writer is not None:
        with contextlib.suppress(Exception):  # reports are best effort at shutdown
            csv_writer.close_files()
    try:
        (run_dir / "locust-report.html").write_text(get_html_report(env, show_download_link=False), encoding="utf-8")
    except Exception as err:  # noqa: BLE001
        (run_dir / "locust-report.error.txt").write_text(f"{type(err).__name__}: {err}\n", encoding="utf-8")


class _WorkerWatch:
    """On the master: report each worker Locust stops counting while the run goes (missing or quit)."""

    def __init__(self, runner: Any, stream: Stream) -> None:
        self.runner, self.stream = runner, stream
        self.expected: set[str] = set(runner.clients.keys()) if hasattr(runner, "clients") else set()
        self.reported: set[str] = set()

    def check(self) -> None:
        if self.runner.state not in (locust_runners.STATE_RUNNING, locust_runners.STATE_SPAWNING):
            return  # stopping workers leave the master on purpose
        for client_id in sorted(self.expected - self.reported):
            node = self.runner.clients.get(client_id)
            if node is not None and node.state != locust_runners.STATE_MISSING:
                continue
            self.reported.add(client_id)
            self.stream.event("worker_lost", client_id=client_id, how="quit" if node is None else "missing",
                              left=self.runner.worker_count)


def _drive(runner: Any, spec: dict[str, Any], stop: gevent.event.Event, stream: Stream, started: float) -> str:
    """Wait until the shape ends, the request budget is spent, the bound passes or SIGTERM arrives."""
    budget = spec.get("request_budget")
    bound = float(spec["max_seconds"])
    watch = _WorkerWatch(runner, stream) if stream.role == "master" else None
    while True:
        if stop.wait(0.1):
            return "terminated"
        if runner.state == locust_runners.STATE_STOPPED:
            return "shape finished"
        if budget and runner.stats.total.num_requests >= budget:
            return "request budget spent"
        if time.time() - started > bound:
            return "time bound reached"
        if watch is not None:
            watch.check()


def _wait_for_workers(runner: Any, spec: dict[str, Any], stop: gevent.event.Event, stream: Stream,
                      port: int) -> str:
    """On the master: '' once every worker connected, else 'terminated' or 'short' (reported as workers_short)."""
    wait = float(spec.get("worker_wait", 20))
    deadline = time.time() + wait
    while runner.worker_count < int(spec["workers"]):
        if stop.is_set():
            return "terminated"
        if time.time() > deadline:
            message = (f"only {runner.worker_count} of {spec['workers']} Locust workers connected to the "
                       f"master on 127.0.0.1:{port} within {wait:g} s")
            stream.event("workers_short", connected=sorted(runner.clients.keys()), expected=int(spec["workers"]),
                         waited=wait, message=message)
            print(f"ARTEMIS-ERROR {message}", file=sys.stderr, flush=True)
            return "short"
        gevent.sleep(0.05)
    return ""


def run(spec: dict[str, Any], role: str, run_dir: Path, echo: bool = False) -> int:
    logging.basicConfig(level=logging.WARNING, format=f"[{role}] %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    host = apply_target(os.environ.get(TARGET_ENV) or spec["host"])
    redact_locust()
    locust_runners.WORKER_REPORT_INTERVAL = 1.0
    stream = Stream(run_dir / f"samples-{role}.jsonl", role, echo=echo)
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    try:
        classes = _user_classes(spec)
    except ValueError as err:
        stream.event("error", message=redact(str(err)))
        print(redact(f"ARTEMIS-ERROR {err}"), file=sys.stderr, flush=True)
        return EXIT_BAD_LOCUSTFILE
    shape = Shape.from_dict(spec["shape"])
    is_worker = role.startswith("worker")
    if spec.get("mode") == "arrival":
        arrival.configure(spec, role, classes, stream.on_dropped)
        classes = [arrival.ArrivalDriver]
    events = locust.events
    events.request.add_listener(stream.on_request)
    events.cpu_warning.add_listener(lambda environment, cpu_usage, **_: stream.event("cpu_warning", cpu=cpu_usage))
    env = Environment(user_classes=classes, shape_class=None if is_worker else _shape_class(shape, spec)(),
                      host=host, events=events, stop_timeout=float(spec.get("stop_timeout", 2.0)))
    port = int(spec.get("master_port") or 0)
    runner: Any
    if role == "local":
        runner = env.create_local_runner()
    elif role == "master":
        runner = env.create_master_runner(master_bind_host=str(spec.get("master_bind") or "127.0.0.1"),
                                          master_bind_port=port)
    else:  # in a cluster the master is a Service's name, given in the environment
        runner = env.create_worker_runner(master_host=os.environ.get(MASTER_HOST_ENV) or "127.0.0.1",
                                          master_port=port)
    stream.runner = runner
    if spec.get("mode") == "arrival" and not is_worker:
        runner.register_message(arrival.DONE_MESSAGE, arrival.on_done)
    events.init.fire(environment=env, runner=runner, web_ui=None)  # as `locust` itself does for locustfiles
    emitter = gevent.spawn(stream.loop)
    prober = gevent.spawn(stream.probe_lag)
    started = time.time()
    if is_worker:
        stream.event("worker-started", client_id=str(getattr(runner, "client_id", "")))
        waiter = gevent.spawn(runner.greenlet.join)
        while not waiter.ready() and not stop.is_set() and time.time() - started < float(spec["max_seconds"]) + 30:
            gevent.sleep(0.2)
        with contextlib.suppress(Exception):  # the master may have gone already
            runner.quit()
        emitter.kill()
        prober.kill()
        stream.flush(final=True)
        events.quitting.fire(environment=env, reverse=True)
        stream.event("finished", reason="master quit" if waiter.ready() else "terminated")
        return 0
    csv_writer = StatsCSVFileWriter(env, PERCENTILES_TO_REPORT, str(run_dir / "locust"), full_history=False)
    csv_greenlet = gevent.spawn(csv_writer.stats_writer)
    if role == "master":
        short = _wait_for_workers(runner, spec, stop, stream, port)
        if short:
            stream.event("stopping")
            runner.quit()
            csv_greenlet.kill()
            emitter.kill()
            prober.kill()
            stream.event("finished", reason="terminated" if short == "terminated" else "workers missing")
            return 0 if short == "terminated" else EXIT_NO_WORKERS
        started = time.time()
    stream.event("started", workers=getattr(runner, "worker_count", 0))
    runner.start_shape()
    reason = _drive(runner, spec, stop, stream, started)
    stream.event("stopping")
    runner.quit()
    if role == "master":
        gevent.sleep(0.3)  # let the workers' last reports arrive
    csv_greenlet.kill()
    emitter.kill()
    prober.kill()
    stream.flush(final=True)
    events.quitting.fire(environment=env, reverse=True)
    _reports(env, run_dir, csv_writer)
    stream.event("finished", reason=reason, requests=env.stats.total.num_requests,
                 failures=env.stats.total.num_failures)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_artemis.load.child")
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--role", required=True, help="local, master or worker-N (worker: N from --index-env)")
    parser.add_argument("--run-dir", type=Path, help="where the sample lines and reports go (default: the spec's)")
    parser.add_argument("--index-env", help="a worker's number is this variable + 1 (an Indexed Job's "
                        "JOB_COMPLETION_INDEX)")
    parser.add_argument("--echo", action="store_true", help="write the sample lines to stdout too (a pod's log)")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    run_dir = args.run_dir or args.spec.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.index_env:
        args.role = f"{args.role}-{int(os.environ[args.index_env]) + 1}"
    try:
        return run(spec, args.role, run_dir, echo=args.echo)
    except Exception as err:  # noqa: BLE001 - report any crash in one line for the parent
        print(redact(f"ARTEMIS-ERROR Locust {args.role} crashed: {type(err).__name__}: {err}"), file=sys.stderr,
              flush=True)
        print(redact(traceback.format_exc()), file=sys.stderr, flush=True)
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
