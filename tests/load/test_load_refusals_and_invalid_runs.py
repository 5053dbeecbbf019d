"""Fault drills run as a user would: a Locust worker SIGKILLed mid-run makes the test an error (never GO, never a
green history entry); production without the explicit permission sends no generated traffic at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from servers import serving

ROOT = Path(__file__).resolve().parents[2]

LOW_THROUGHPUT = """
version: 1
defaults: {p95_ms: 1000, p99_ms: 2000, error_rate_percent: 1.0, throughput_rps: 1, availability_percent: 99.5}
"""

KILL_A_WORKER = """
import os
import threading
import time
from pathlib import Path

import psutil
import pytest


def _kill_worker_2(stop):
    here = os.getcwd()
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        for proc in psutil.process_iter(["cmdline"]):
            cmd = proc.info["cmdline"] or []
            if "worker-2" in cmd and any(here in part for part in cmd):
                samples = Path(cmd[cmd.index("--spec") + 1]).parent / "samples-worker-2.jsonl"
                while not stop.is_set() and time.monotonic() < deadline:  # the run has started: it sends load
                    if samples.exists() and samples.read_text().count('"sent"') >= 2:
                        break
                    time.sleep(0.1)
                time.sleep(1.0)  # mid-run
                proc.kill()
                return
        time.sleep(0.1)


@pytest.fixture
def kill_a_worker():
    stop = threading.Event()
    thread = threading.Thread(target=_kill_worker_2, args=(stop,), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.mark.load
@pytest.mark.usefixtures("kill_a_worker")
def test_load_scenario(load_exercise):
    load_exercise.assert_gates()
"""


def test_a_worker_killed_mid_run_makes_the_test_an_error_and_stores_no_green_run(run_scenario, locust_children,
                                                                                pytester: pytest.Pytester) -> None:
    run = run_scenario("load", "--artemis-workers", "2", "--artemis-load-param", "requests=100",
                       baselines=LOW_THROUGHPUT, source=KILL_A_WORKER)
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines(["*RunInvalidError: load run invalid: worker 2 (pid *) lost at t=*",
                                     "*MISSION VERDICT: NO-GO*"])
    assert run.verdict["verdict"] == "NO-GO"
    history = list((pytester.path / "history").glob("*.json"))
    runs = [r for path in history for r in json.loads(path.read_text())["runs"]]
    assert not [r for r in runs if r.get("green")], "an invalid run is never stored as green"
    assert not locust_children(pytester.path)


class _Counting(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # the stdlib's name
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """A plain server on 127.0.0.1 that records every path it is asked for; stopped after the test."""
    _Counting.seen = []
    with serving(_Counting) as url:
        yield url, _Counting.seen


@pytest.mark.parametrize("selection", ["load", "load or chaos or observability"])
def test_production_without_permission_sends_no_generated_traffic(pytester: pytest.Pytester, selection: str,
                                                                  counting_server: tuple[str, list[str]]) -> None:
    url, seen = counting_server
    result = pytester.runpytest_subprocess(str(ROOT / "suites"), "-m", selection, "--artemis-target", url,
                                           "--artemis-environment", "production", "--artemis-profile", "smoke",
                                           "-p", "no:cacheprovider", timeout=120)
    outcomes = result.parseoutcomes()
    assert not outcomes.get("passed"), "a refused test is never a pass"
    result.stdout.fnmatch_lines([("*load refused: --artemis-environment is production; pass "
                                  "--artemis-allow-production-load to allow it*")])
    output = result.stdout.str()
    assert "load load" not in output and "Traceback" not in output
    assert set(seen) <= {"/"} and len(seen) <= 1, f"only the reachability check may reach the target: {seen}"
