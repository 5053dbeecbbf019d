"""A run notices what would make its figures lie: lost Locust workers, a dead target, and keeps target secrets secret.

Every test starts its own service on 127.0.0.1 (the reference service, or a small threaded server that
demands basic-auth credentials and a token query), runs a bounded plan through :class:`LoadRunner` and
stops every process it started, also on failure.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from servers import serving

from pytest_artemis.errors import TargetUnreachableError
from pytest_artemis.load.runner import LoadRunner, RunOptions, preflight, steady_state
from pytest_artemis.load.scenarios import plan_for
from pytest_artemis.load.supervise import TargetDownWatch, WorkerWatch
from pytest_artemis.redact import join, split_credentials
from pytest_artemis.services.processes import free_port
from pytest_artemis.services.target.control import Target, external_target, start_reference_service

PASSWORD, TOKEN = "s3cr3t-pw", "t0ps3cret"
BASIC = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD.encode(), TOKEN.encode(), BASIC.encode())


# --------------------------------------------------------------------------- helpers


def _started_at(run_dir: Path, timeout: float = 40.0) -> float:
    """Wait until the master (or local process) reports the start of the load; its epoch time."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for role in ("master", "local"):
            path = run_dir / f"samples-{role}.jsonl"
            if path.exists():
                for line in path.read_text().splitlines():
                    if '"event": "started"' in line:
                        return float(json.loads(line)["time"])
        time.sleep(0.05)
    raise AssertionError(f"no start reported under {run_dir} within {timeout} s")


def _run_with(runner: LoadRunner, plan: Any, options: RunOptions, action: Callable[[], None]) -> Any:
    """Run ``plan`` while ``action`` runs in a thread; re-raise what the action raised."""
    problems: list[BaseException] = []

    def act() -> None:
        try:
            action()
        except BaseException as err:  # noqa: BLE001 - reported by the test
            problems.append(err)

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    try:
        return runner.run(plan, options)
    finally:
        thread.join(30)
        if problems:
            raise problems[0]


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _endurance(users: int, seconds: float, rate: float, workers: int = 0) -> Any:
    return plan_for("endurance", "smoke", {"users": users, "duration": seconds, "rate": rate}, workers=workers)


# --------------------------------------------------------------------------- 1. lost workers


def test_a_worker_killed_mid_run_makes_the_run_invalid_and_stops_it(reference: Target, tmp_path: Path,
                                                                     locust_children) -> None:
    runner, plan = LoadRunner(), _endurance(4, 20, 2, workers=2)
    killed: dict[str, float] = {}

    def kill_worker_2() -> None:
        started = _started_at(tmp_path)
        time.sleep(max(0.0, started + 2.5 - time.time()))
        killed["pid"], killed["t"] = runner.last_roles["worker-2"], time.time() - started
        _signal(runner.last_roles["worker-2"], signal.SIGKILL)

    result = _run_with(runner, plan, RunOptions(target=reference.url, run_dir=tmp_path), kill_worker_2)
    pid = killed["pid"]
    print(f"\nworker killed at t={killed['t']:.2f} s; run ended at t={result.duration:.2f} s; {result.invalid}")
    assert result.invalid.startswith(f"worker 2 (pid {pid}) lost at t="), result.invalid
    assert "1 of 2 workers left" in result.invalid and "SIGKILL" in result.invalid, result.invalid
    lost_at = float(result.invalid.split("t=", 1)[1].split(" ", 1)[0])
    assert killed["t"] - 0.2 <= lost_at <= killed["t"] + 1.0, (killed, result.invalid)
    assert result.lost_workers == [{"role": "worker-2", "pid": pid, "t": pytest.approx(lost_at, abs=0.06),
                                    "how": "its process was killed by SIGKILL"}]
    assert result.duration < 10, f"run went on for {result.duration:.1f} s of 20 s after losing a worker"
    assert result.total.requests > 0 and result.summary()["invalid"] == result.invalid  # statistics kept
    assert not locust_children(tmp_path)


def test_a_worker_that_misses_its_heartbeats_makes_the_run_invalid(reference: Target, tmp_path: Path,
                                                                    locust_children) -> None:
    runner, plan = LoadRunner(), _endurance(4, 20, 2, workers=2)
    frozen: dict[str, float] = {}

    def freeze_worker_1() -> None:
        started = _started_at(tmp_path)
        time.sleep(max(0.0, started + 2.0 - time.time()))
        frozen["pid"], frozen["t"] = runner.last_roles["worker-1"], time.time() - started
        _signal(runner.last_roles["worker-1"], signal.SIGSTOP)  # alive, silent: only the heartbeats tell

    try:
        result = _run_with(runner, plan, RunOptions(target=reference.url, run_dir=tmp_path), freeze_worker_1)
    finally:
        if "pid" in frozen:
            _signal(int(frozen["pid"]), signal.SIGCONT)
    print(f"\nworker frozen at t={frozen['t']:.2f} s; run ended at t={result.duration:.2f} s; {result.invalid}")
    assert result.invalid.startswith(f"worker 1 (pid {frozen['pid']}) lost at t="), result.invalid
    assert "marked it missing" in result.invalid and "1 of 2 workers left" in result.invalid, result.invalid
    assert result.duration < 14, f"{result.duration:.1f} s"
    assert not locust_children(tmp_path)


def test_a_worker_that_never_connects_makes_the_run_invalid_before_any_load(reference: Target, tmp_path: Path,
                                                                             locust_children) -> None:
    runner, plan = LoadRunner(), _endurance(4, 20, 2, workers=2)
    frozen: dict[str, int] = {}

    def freeze_worker_2_at_birth() -> None:
        deadline = time.time() + 20
        while "worker-2" not in runner.last_roles and time.time() < deadline:
            time.sleep(0.002)
        frozen["pid"] = runner.last_roles["worker-2"]
        _signal(frozen["pid"], signal.SIGSTOP)

    began = time.time()
    try:
        result = _run_with(runner, plan, RunOptions(target=reference.url, run_dir=tmp_path,
                                                    worker_connect_seconds=3), freeze_worker_2_at_birth)
    finally:
        if "pid" in frozen:
            _signal(frozen["pid"], signal.SIGCONT)
    print(f"\nrun returned after {time.time() - began:.2f} s; {result.invalid}")
    assert result.invalid == (f"worker 2 (pid {frozen['pid']}) never connected to the master within 3 s: "
                              "1 of 2 workers connected; no load was sent")
    assert result.total.requests == 0 and time.time() - began < 15
    assert not locust_children(tmp_path)


def test_the_worker_watch_ignores_workers_quitting_at_the_end_and_reports_the_first_loss_only() -> None:
    watch = WorkerWatch({"worker-1": 11, "worker-2": 12})
    events = [{"event": "worker-started", "role": "worker-1", "client_id": "a"},
              {"event": "worker-started", "role": "worker-2", "client_id": "b"},
              {"event": "worker_lost", "role": "master", "client_id": "a", "how": "missing", "time": 105.0}]
    watch.events(events, started=100.0)
    watch.exited("worker-2", -9, 6.0)
    assert watch.invalid == ("worker 1 (pid 11) lost at t=5.0 s: 1 of 2 workers left (it stopped sending "
                             "heartbeats; Locust's master marked it missing)")
    assert [lost.role for lost in watch.lost] == ["worker-1", "worker-2"]
    ending = WorkerWatch({"worker-1": 11})
    ending.events([{"event": "stopping", "role": "master", "time": 1.0}], started=0.0)
    ending.exited("worker-1", 0, 9.0)
    assert ending.invalid == "" and ending.lost == []


# --------------------------------------------------------------------------- 2. the target dies


def test_the_target_dying_mid_run_aborts_the_run_well_before_its_end(tmp_path: Path, locust_children) -> None:
    service = start_reference_service(tmp_path / "logs", base_env=os.environ)
    runner, plan = LoadRunner(), _endurance(4, 20, 5)
    killed: dict[str, float] = {}

    def kill_the_target() -> None:
        started = _started_at(tmp_path / "run")
        time.sleep(max(0.0, started + 2.0 - time.time()))
        killed["t"] = time.time() - started
        assert service.pid is not None
        _signal(service.pid, signal.SIGKILL)

    try:
        result = _run_with(runner, plan, RunOptions(target=service.url, run_dir=tmp_path / "run"), kill_the_target)
    finally:
        service.stop()
    ended = result.duration
    print(f"\ntarget killed at t={killed['t']:.2f} s; down from t={result.target_down_at} s; run ended at "
          f"t={ended:.2f} s of {plan.duration:g} s planned; {result.aborted}")
    assert result.aborted.startswith("target down at t="), result.aborted
    assert " requests in a row failed to connect to http://127.0.0.1:" in result.aborted, result.aborted
    assert "ConnectionRefusedError" in result.aborted, result.aborted
    assert result.target_down_at is not None and abs(result.target_down_at - killed["t"]) < 1.0
    assert ended < killed["t"] + 3.0 + 2.5, f"aborted {ended - killed['t']:.1f} s after the kill"
    assert result.window(0, killed["t"] - 0.5)[0].failures == 0 and result.total.requests > 0  # kept
    assert not locust_children(tmp_path)


def test_the_target_is_down_only_when_every_load_sending_process_fails_to_connect() -> None:
    watch = TargetDownWatch(3.0, "http://127.0.0.1:1")
    watch.feed({"role": "master", "sent": 0, "down": None})
    watch.feed({"role": "worker-1", "sent": 10, "down": {"since": 101.0, "n": 7, "error": "ConnectionRefusedError"}})
    watch.feed({"role": "worker-2", "sent": 10, "down": None})
    assert watch.check(now=110.0, started=100.0) == ""  # worker-2 still gets answers
    watch.feed({"role": "worker-2", "sent": 12, "down": {"since": 102.0, "n": 5, "error": "ConnectionRefusedError"}})
    assert watch.check(now=104.9, started=100.0) == ""
    assert watch.check(now=105.0, started=100.0).startswith(
        "target down at t=2.0 s: 12 requests in a row failed to connect to http://127.0.0.1:1 "
        "(ConnectionRefusedError) for 3.0 s")
    assert TargetDownWatch(0, "x").check(now=1e9, started=0.0) == ""  # 0 switches it off


# --------------------------------------------------------------------------- 3. credentials in the URL


class _Guarded(BaseHTTPRequestHandler):
    """The mission API and health of the reference service, behind basic auth and a token query."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, bool]]

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        authorised = (self.headers.get("Authorization") == f"Basic {BASIC}"
                      and parse_qs(parts.query).get("token") == [TOKEN])
        type(self).seen.append((self.command, parts.path, authorised))
        status, body = 200, b'{"ok": true}'
        if not authorised:
            status = 401
        elif parts.path == "/metrics":
            body = b"process_resident_memory_bytes 1.5e7\n"
        elif parts.path == "/api/v1/missions/3":
            status = 404  # errors whose messages name the URL, token and all
        elif self.command == "POST":
            status = 201
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def guarded() -> Iterator[tuple[str, list[tuple[str, str, bool]]]]:
    """(URL with credentials and token, requests seen as (method, path, authorised))."""
    handler = type("Guarded", (_Guarded,), {"seen": []})
    with serving(handler) as url:
        yield f"{url.replace('http://', f'http://user:{PASSWORD}@')}/?token={TOKEN}", handler.seen


HTTP_USER = '''
from locust import HttpUser, constant_throughput, task

class Reader(HttpUser):
    wait_time = constant_throughput(4)

    @task(3)
    def missions(self):
        self.client.get("/api/v1/missions")

    @task
    def missing(self):
        self.client.get("/api/v1/missions/3", name="/api/v1/missions/{id}")
'''


def _files_with_secrets(run_dir: Path) -> dict[str, list[bytes]]:
    found = {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        leaked = [s for s in SECRETS if s in data]
        if leaked:
            found[str(path.relative_to(run_dir))] = leaked
    return found


@pytest.mark.parametrize("users", ["FastHttpUser (default mix, local)", "HttpUser (own locustfile, 1 worker)"])
def test_credentials_and_a_query_in_the_target_url_reach_the_target_and_no_file(
        guarded, tmp_path: Path, locust_children, users: str) -> None:
    url, seen = guarded
    locustfile = None
    plan = plan_for("load", "smoke", {"users": 3, "requests": 10, "rate": 5})
    if users.startswith("HttpUser"):
        locustfile = tmp_path / "reader_locustfile.py"
        locustfile.write_text(HTTP_USER)
        plan = plan_for("endurance", "smoke", {"users": 3, "duration": 4, "rate": 4}, workers=1)
    run_dir = tmp_path / "run"
    result = LoadRunner().run(plan, RunOptions(target=url, run_dir=run_dir, locustfile=locustfile))
    api = [s for s in seen if s[1].startswith("/api/")]
    assert len(api) >= 10 and all(ok for _, _, ok in seen), [s for s in seen if not s[2]][:3]
    assert any(path == "/health/ready" for _, path, _ in seen) and result.availability_percent == 100.0
    assert result.memory and result.memory[0][1] == 1.5e7  # the metrics probe carried them too
    assert (result.invalid, result.aborted, result.lost_workers) == ("", "", [])  # workers quitting at the end
    assert result.total.requests >= 10 and {e for e in result.endpoints} >= {"GET /api/v1/missions"}
    errors = {m for s in result.endpoints.values() for m in s.errors}
    assert all("404" in m or "Not Found" in m for m in errors), errors  # only the planted 404s (when one was read)
    assert (run_dir / "locust-report.html").exists() and list(run_dir.glob("locust*.csv"))
    assert _files_with_secrets(run_dir) == {}
    assert PASSWORD not in result.target and TOKEN not in result.target and result.target.startswith("http://user:***@")
    assert not locust_children(tmp_path)


def test_preflight_and_the_steady_state_probes_send_the_credentials_and_keep_the_query(guarded) -> None:
    url, seen = guarded
    preflight(url, "/health/ready")
    share, p95, problems = steady_state(url, ("/health/ready", "/api/v1/missions"), requests=6)
    assert (share, problems) == (100.0, []) and p95 is not None
    assert [path for _, path, _ in seen] == ["/health/ready"] + ["/health/ready", "/api/v1/missions"] * 3
    assert all(ok for _, _, ok in seen)


def test_errors_about_a_target_url_show_neither_its_password_nor_its_token() -> None:
    closed = f"http://user:{PASSWORD}@127.0.0.1:{free_port()}/?token={TOKEN}"
    with pytest.raises(TargetUnreachableError) as caught:
        preflight(closed, "/health/ready")
    assert "Connection refused" in str(caught.value) and "/health/ready?token=***" in str(caught.value)
    share, _, problems = steady_state(closed, ("/health/ready",), requests=2)
    with pytest.raises(TargetUnreachableError) as external:
        external_target(closed, timeout=2)
    messages = [str(caught.value), *problems, str(external.value)]
    assert share == 0 and all("user:***@127.0.0.1" in m for m in messages), messages
    assert not [m for m in messages if PASSWORD in m or TOKEN in m or BASIC in m], messages


def test_an_external_target_with_credentials_answers(guarded) -> None:
    url, seen = guarded
    target = external_target(url)
    assert target.url == url and not target.managed
    assert seen == [("GET", "/", True)]


@pytest.mark.parametrize(("base", "path", "expected"), [
    ("http://h:1/?token=x", "/health/ready", "http://h:1/health/ready?token=x"),
    ("http://h:1/api?token=x", "/v1?page=2", "http://h:1/api/v1?token=x&page=2"),
    ("http://h:1", "/metrics", "http://h:1/metrics"),
])
def test_join_keeps_the_base_query(base: str, path: str, expected: str) -> None:
    assert join(base, path) == expected


def test_split_credentials_turns_user_and_password_into_a_basic_auth_header() -> None:
    base, headers = split_credentials(f"http://user:{PASSWORD}@127.0.0.1:8080/x?token={TOKEN}")
    assert base == f"http://127.0.0.1:8080/x?token={TOKEN}" and headers == {"Authorization": f"Basic {BASIC}"}
