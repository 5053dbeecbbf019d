"""A service the session started dies during a test: a few lines naming it, its URL, what failed and its log tail."""

from __future__ import annotations

import re
import shutil
import signal
import sys

import pytest

from pytest_artemis.errors import TargetUnreachableError
from pytest_artemis.services.failures import transport_reason, unreachable_message
from pytest_artemis.services.processes import ManagedProcess

needs_prometheus = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs `apt-get install prometheus`")

#: Inner tests that kill a service the session started, then use it.
DYING_SERVICES = """
import signal
from pytest_artemis.services.processes import running_processes

def kill(name):
    (process,) = [p for p in running_processes() if p.name == name]
    process.popen.send_signal(signal.SIGKILL)
    process.popen.wait(10)

def test_prometheus_dies(prom, target):
    kill("prometheus")
    prom.query("up")

def test_reference_service_dies(target):
    kill("reference service target")
    target.admin.set(latency_ms=5)
"""


def failure_section(lines: list[str], test: str) -> list[str]:
    """The lines pytest prints for one failed test: from its ``___ name ___`` header to the next header."""
    start = next(i for i, line in enumerate(lines) if re.match(rf"^_+ {test} _+$", line))
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^(_{3,} \S.* _{3,}|={3,}.*)$", lines[i])),
               len(lines))
    return lines[start:end]


@needs_prometheus
def test_a_service_killed_mid_test_fails_it_in_a_few_lines_naming_it_its_url_and_its_log(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DYING_SERVICES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)

    prometheus = failure_section(result.outlines, "test_prometheus_dies")
    text = "\n".join(prometheus)
    assert len(prometheus) < 30, text
    assert re.search(r"PrometheusUnavailableError: Prometheus at http://127\.0\.0\.1:\d+ cannot be reached "
                     r"\(GET /api/v1/query: connection refused\): prometheus \(pid \d+\) was killed by SIGKILL; "
                     r"log: \S+prometheus-\d+\.log", text), text
    assert "--- last lines of its log ---" in text and "Server is ready to receive web requests" in text
    for noise in ("Traceback", "urllib3", "requests.exceptions", "site-packages", "During handling", "direct cause"):
        assert noise not in text, f"{noise!r} in the failure of a dead Prometheus:\n{text}"

    reference = failure_section(result.outlines, "test_reference_service_dies")
    text = "\n".join(reference)
    assert len(reference) < 30, text
    assert re.search(r"TargetUnreachableError: reference service target at http://127\.0\.0\.1:\d+ cannot be "
                     r"reached \(PUT /admin/faults: connection refused\): reference service target \(pid \d+\) "
                     r"was killed by SIGKILL", text), text
    assert "reference service up" in text, "the tail of the service's log is attached"
    for noise in ("Traceback", "httpx", "httpcore", "During handling", "direct cause"):
        assert noise not in text, f"{noise!r} in the failure of a dead reference service:\n{text}"


def test_the_admin_client_of_a_killed_service_names_it_and_shows_its_log(reference_service_factory) -> None:
    service = reference_service_factory(name="doomed")
    assert service.process is not None and service.process.popen is not None and service.admin is not None
    service.process.popen.send_signal(signal.SIGKILL)
    service.process.popen.wait(10)
    with pytest.raises(TargetUnreachableError) as err:
        service.admin.reset()
    first, _, tail = str(err.value).partition("\n")
    assert first == (f"reference service doomed at {service.url} cannot be reached (DELETE /admin/faults: "
                     f"connection refused): reference service doomed (pid {service.pid}) was killed by SIGKILL; "
                     f"log: {service.log_path}")
    assert tail.startswith("--- last lines of its log ---") and "reference service up" in tail
    assert len(tail.splitlines()) <= 6 and err.value.__cause__ is None and err.value.__suppress_context__


def test_a_diagnosis_says_how_a_process_ended_and_shows_the_end_of_its_log(tmp_path) -> None:
    code = "import sys\nfor i in range(50): print('line', i)\nsys.exit(3)"
    process = ManagedProcess("quitter", [sys.executable, "-c", code], log_path=tmp_path / "quitter.log").start()
    assert process.popen is not None
    process.popen.wait(10)
    lines = process.diagnosis(lines=3).splitlines()
    assert lines == [f"quitter (pid {process.pid}) exited with code 3; log: {tmp_path / 'quitter.log'}",
                     "--- last lines of its log ---", "line 47", "line 48", "line 49"]
    process.stop()
    silent = ManagedProcess("silent", [sys.executable, "-c", "pass"], log_path=tmp_path / "silent.log")
    assert silent.diagnosis() == f"silent was never started; log: {tmp_path / 'silent.log'} (empty)"


def test_transport_reasons_are_a_few_words_and_urls_in_messages_are_redacted() -> None:
    class Wrapper(Exception):
        pass

    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise Wrapper("<urllib3.connection.HTTPConnection object at 0x7f00>: Failed to establish") from inner
    except Wrapper as err:
        assert transport_reason(err) == "connection refused"
    assert transport_reason(TimeoutError("timed out"), timeout=2) == "no answer within 2 s"
    assert transport_reason(ValueError("<x.Y object at 0xabc>: odd")) == "ValueError: odd"
    message = unreachable_message("Prometheus", "http://user:secret@127.0.0.1:9090", "GET /api/v1/query",
                                  ConnectionResetError(104, "Connection reset by peer"),
                                  explain=lambda: "prometheus (pid 1) exited with code 1")
    assert message == ("Prometheus at http://user:***@127.0.0.1:9090 cannot be reached (GET /api/v1/query: "
                       "connection reset by peer): prometheus (pid 1) exited with code 1")
