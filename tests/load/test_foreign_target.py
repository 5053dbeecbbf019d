"""A plain web server (no /metrics, no admin endpoint, no /health/ready) as --artemis-target: the load gate runs
alone and says GO when the server is healthy; the observability gate skips with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_artemis.services.processes import free_port, http_ok

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[str]:
    """``python -m http.server`` on 127.0.0.1 serving one page; stopped after the test."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>plain</h1>")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                               cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        ready = http_ok(url + "/", timeout=0.5)
        deadline = time.monotonic() + 10
        while not ready():
            assert process.poll() is None and time.monotonic() < deadline, "http.server did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest_subprocess(str(ROOT / "suites"), "-p", "no:cacheprovider", "--artemis-profile",
                                           "smoke", "--artemis-verdict", "v.json", *args, timeout=180)
    return result, json.loads((pytester.path / "v.json").read_text())


def test_the_load_gate_alone_says_go_against_a_healthy_plain_web_server(pytester: pytest.Pytester,
                                                                        plain_server: str) -> None:
    result, verdict = _run(pytester, "-m", "load", "--artemis-target", plain_server,
                           "--artemis-load-param", "rate=5")  # 50 req/s planned: a busy 2-core machine keeps up
    result.assert_outcomes(passed=1)
    assert verdict["verdict"] == "GO" and list(verdict["gates"]) == ["load"]
    p95 = next(m for m in verdict["measurements"] if m["name"] == "load p95_ms")
    assert p95["status"] == "pass" and p95["limit"] is not None
    result.stdout.fnmatch_lines(["*ARTEMIS MISSION STATUS*", "*p95_ms*<= *ok", "*MISSION VERDICT: GO*"])


def test_observability_on_a_plain_web_server_skips_saying_what_is_missing(pytester: pytest.Pytester,
                                                                         plain_server: str) -> None:
    result, verdict = _run(pytester, "-m", "observability", "--artemis-target", plain_server, "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 1 and not outcomes.get("failed") and not outcomes.get("errors")
    result.stdout.fnmatch_lines(["*has no Prometheus /metrics; give --artemis-prometheus URL*"])
    assert verdict["verdict"] == "NO-GO"  # nothing was measured: never GO
