"""The service fixtures as users meet them (pytester), and no process outliving any kind of session end."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpcore  # noqa: F401 - imported before in-process pytester runs, which unload modules first imported inside
import httpx
import psutil
import pytest
from pids import wait_gone

from pytest_artemis.services.processes import ManagedProcess, free_port, http_ok

SUITE = Path(__file__).parents[2] / "suites" / "test_probes_smoke.py"
needs_prometheus = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs `apt-get install prometheus`")

#: An inner test that writes the pids of the processes this session started, then ends as told.
RECORDING_TEST = """
import json, os, signal, time
from pathlib import Path
from pytest_artemis.services.processes import running_processes

def test_records_pids_then_ends({fixtures}):
    mine = [p.pid for p in running_processes() if str(artemis_config.artifacts) in str(p.log_path)]
    Path("pids.json").write_text(json.dumps(mine))
    {ending}
"""
ENDINGS = {
    "pass": "assert target.pid in mine",
    "fail": "assert False, 'the gate failed'",
    "interrupt": "raise KeyboardInterrupt",
    "wait": "time.sleep(60)",
}


def started_pids(pytester: pytest.Pytester) -> list[int]:
    pids = json.loads((pytester.path / "pids.json").read_text())
    assert pids, "the inner session started no process"
    return pids


def test_target_fixture_serves_the_reference_service_and_resets_faults_after_each_test(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import httpx
        from pathlib import Path

        def test_switches_a_fault(target, target_url):
            assert target.managed and target.pid and target_url == target.url
            target.admin.set(latency_ms=5, readiness_down=True)
            assert httpx.get(target_url + "/health/ready").status_code == 503
            Path("pid").write_text(str(target.pid))

        def test_starts_with_every_fault_off(target, target_url):
            assert target.admin.get()["latency_ms"] == 0
            assert httpx.get(target_url + "/health/ready").status_code == 200
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert not psutil.pid_exists(int((pytester.path / "pid").read_text()))
    logs = list((pytester.path / ".artemis" / "artifacts").glob("*/services/target-*.log"))
    assert logs and "reference service up" in logs[0].read_text(), "the target's log is kept in the session's directory"


@pytest.mark.parametrize("ending", ["pass", "fail", "interrupt"])
def test_no_process_outlives_a_session_that_passes_fails_or_is_interrupted(pytester: pytest.Pytester,
                                                                          ending: str) -> None:
    fixtures = "artemis_config, target, prom" if ending == "pass" and shutil.which("prometheus") else \
        "artemis_config, target"
    pytester.makepyfile(RECORDING_TEST.format(fixtures=fixtures, ending=ENDINGS[ending]))
    result = pytester.runpytest("-p", "no:cacheprovider", no_reraise_ctrlc=True)
    expected = {"pass": pytest.ExitCode.OK, "fail": pytest.ExitCode.TESTS_FAILED,
                "interrupt": pytest.ExitCode.INTERRUPTED}[ending]
    assert result.ret == expected
    pids = started_pids(pytester)
    assert len(pids) == fixtures.count(",")  # target (+ prometheus)
    assert [pid for pid in pids if psutil.pid_exists(pid)] == []


@needs_prometheus
@pytest.mark.parametrize(("sig", "fixtures"), [(signal.SIGINT, "artemis_config, target, prom"),
                                               (signal.SIGTERM, "artemis_config, target")],
                         ids=["ctrl-c", "sigterm"])
def test_no_process_outlives_a_session_killed_by_a_signal(pytester: pytest.Pytester, sig: signal.Signals,
                                                          fixtures: str) -> None:
    pytester.makepyfile(RECORDING_TEST.format(fixtures=fixtures, ending=ENDINGS["wait"]))
    session = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=pytester.path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        while not (pytester.path / "pids.json").exists():
            assert time.monotonic() < deadline and session.poll() is None, "inner session never reached its test"
            time.sleep(0.1)
        pids = started_pids(pytester)
        session.send_signal(sig)
        session.wait(20)
    finally:
        if session.poll() is None:
            session.kill()
    assert wait_gone(pids, 5) == [], f"left running after {sig.name}"


XDIST_RECORDING_TEST = """
import json, os, time
from pathlib import Path
import pytest
from pytest_artemis.services.processes import running_processes

@pytest.mark.parametrize("worker", [1, 2])
def test_records_pids_then_waits(worker, artemis_config, target):
    mine = [p.pid for p in running_processes() if str(artemis_config.artifacts) in str(p.log_path)]
    Path(f"pids-{os.getpid()}.json").write_text(json.dumps(mine))
    time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_process_outlives_an_xdist_session_whose_controller_is_killed(pytester: pytest.Pytester,
                                                                         sig: signal.Signals) -> None:
    pytester.makepyfile(XDIST_RECORDING_TEST)
    session = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2"],
                               cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list(pytester.path.glob("pids-*.json"))) < 2:
            assert time.monotonic() < deadline and session.poll() is None, "the workers never reached their tests"
            time.sleep(0.1)
        time.sleep(0.2)  # both files written in full
        pids = [pid for f in pytester.path.glob("pids-*.json") for pid in json.loads(f.read_text())]
        assert len(pids) == 2, "each worker started its own reference service"
        session.send_signal(sig)
        session.wait(20)
    finally:
        if session.poll() is None:
            session.kill()
    # left alone, an orphaned worker runs on for 6 s or more before it notices
    assert wait_gone(pids, 4) == [], f"left running after the controller got {sig.name}"


def test_probes_suite_runs_against_an_external_target_and_skips_fault_tests(
        pytester: pytest.Pytester, reference_service_factory) -> None:
    external = reference_service_factory()
    pytester.makepyfile(test_probes=SUITE.read_text())
    pytester.makepyfile(test_external="""
        def test_external_target_is_not_managed(target, target_url, artemis_config):
            assert (target.managed, target.pid, target.admin) == (False, None, None)
            assert target_url == artemis_config.target
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--artemis-target", external.url,
                                "-k", "not prometheus")
    result.assert_outcomes(passed=5, skipped=8)
    result.stdout.fnmatch_lines(["*fault switches need the managed reference service*"])


def test_unreachable_external_target_errors_with_its_url(pytester: pytest.Pytester) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pytester.makepyfile("def test_probe(target_url):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--artemis-target", url)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"TargetUnreachableError: target {url} does not answer: *"])


def test_prom_is_skipped_with_the_install_line_when_prometheus_is_missing(pytester: pytest.Pytester,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(pytester.path))
    pytester.makepyfile("def test_needs_prometheus(prom):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*Prometheus server not found: install it with `apt-get install prometheus`*"])


def test_unreachable_external_prometheus_errors_instead_of_skipping(pytester: pytest.Pytester) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pytester.makepyfile("def test_needs_prometheus(prom):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--artemis-prometheus", url)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"PrometheusUnavailableError: --artemis-prometheus {url} is not ready (GET /-/ready)"])


def test_factory_services_start_with_their_faults_and_are_stopped_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import httpx
        from pathlib import Path

        def test_factory(reference_service_factory):
            slow = reference_service_factory(faults={"latency_ms": 150}, warmup_seconds=0.3, wait_for="/health/live")
            assert httpx.get(slow.url + "/health").status_code == 503
            assert slow.admin.get()["latency_ms"] == 150
            Path("pid").write_text(str(slow.pid))
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert not psutil.pid_exists(int((pytester.path / "pid").read_text()))


def test_reference_service_runs_standalone_from_the_command_line(tmp_path: Path) -> None:
    port = free_port()
    with ManagedProcess("standalone", [sys.executable, "-m", "pytest_artemis.services.target", "--port", str(port), "--drain-seconds", "0"],
                        log_path=tmp_path / "standalone.log") as service:
        service.wait_ready(http_ok(f"http://127.0.0.1:{port}/health"), timeout=15)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/status").json()["service"] == "artemis-reference"
    usage = subprocess.run([sys.executable, "-m", "pytest_artemis.services.target", "--help"],
                           capture_output=True, text=True, check=True).stdout
    assert "--port" in usage and "ARTEMIS_FAULT_LATENCY_MS" in usage


@needs_prometheus
def test_prom_loads_the_project_rules_and_names_each_skipped_file_in_one_line(pytester: pytest.Pytester) -> None:
    rules = pytester.mkdir("rules")
    (rules / "alerts.yaml").write_text("groups:\n  - name: g\n    rules:\n      - alert: Ping\n        expr: vector(1)\n")
    (rules / "broken.yaml").write_text("groups:\n  - name: g\n    rules:\n      - alert: Bad\n        expr: up ==\n")
    test_file = pytester.makepyfile("""
        def test_rules_are_loaded(prom):
            assert [r.name for r in prom.rules("alert")] == ["Ping"]
            assert prom.wait_for_alert("Ping", "firing", timeout=10) == "firing"
    """)
    pytester.makeini(f"[pytest]\nartemis_rules = {rules}\n")  # from the ini: the rule gate stays out of this run
    result = pytester.runpytest("-p", "no:cacheprovider", str(test_file))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*UserWarning: artemis: rule file */broken.yaml skipped: promtool check rules failed:*"])
