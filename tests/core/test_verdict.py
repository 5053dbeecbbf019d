"""The mission verdict: MISSION STATUS in the terminal and the verdict JSON, also after crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_artemis.reporting.verdict import fold

MIXED = """
import pytest

@pytest.mark.probes
def test_probe_passes(artemis_record):
    artemis_record.measurement("p95", 12.5, "ms", limit=1000, comparison="<", passed=True)

@pytest.mark.spike
def test_spike_fails():
    assert 412 < 300, "p95 412 ms > baseline 300 ms"

@pytest.mark.manifests
def test_manifest_skipped():
    pytest.skip("no cluster")

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

@pytest.mark.rollout
def test_rollout_errors(broken):
    pass
"""


def _verdict(path: Path) -> dict:
    return json.loads(path.read_text())


def test_mission_status_lists_every_gate_family_with_go_or_no_go(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MIXED)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*ARTEMIS MISSION STATUS*",
            "*Manifests*0 passed, 0 failed, 0 error, 1 skipped*GO",
            "*Probes*1 passed, 0 failed, 0 error, 0 skipped*GO",
            "*Rollout*0 passed, 0 failed, 1 error, 0 skipped*NO-GO",
            "*Load Scenarios*0 passed, 1 failed, 0 error, 0 skipped*NO-GO",
            "*MISSION VERDICT: NO-GO*DEFCON 2 (FAST PACE)*",
        ]
    )


def test_the_exit_code_stays_pytests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MIXED)
    assert pytester.runpytest().ret == pytest.ExitCode.TESTS_FAILED


def test_a_clean_run_is_go_at_defcon_5(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    pytester.runpytest().stdout.fnmatch_lines(["*MISSION VERDICT: GO*DEFCON 5 (FADE OUT)*"])


def test_a_failed_static_gate_alone_is_defcon_3(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.manifests\ndef test_bad():\n    assert False\n")
    pytester.runpytest().stdout.fnmatch_lines(["*MISSION VERDICT: NO-GO*DEFCON 3 (ROUND HOUSE)*"])


def test_skips_alone_measure_nothing_and_are_no_go_at_defcon_4(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.load\ndef test_s():\n    pytest.skip('x')\n")
    pytester.runpytest().stdout.fnmatch_lines(["*MISSION VERDICT: NO-GO*DEFCON 4 (DOUBLE TAKE)*"])


def test_a_skip_beside_a_pass_is_go_at_defcon_4(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.load\ndef test_s():\n    pytest.skip('x')\n"
                        "@pytest.mark.probes\ndef test_p():\n    pass\n")
    pytester.runpytest().stdout.fnmatch_lines(["*MISSION VERDICT: GO*DEFCON 4 (DOUBLE TAKE)*"])


def test_the_verdict_file_holds_gates_tests_measurements_and_config(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MIXED)
    pytester.runpytest("--artemis-verdict", "out/verdict.json", "--artemis-target", "http://ops:s3cret@127.0.0.1:9")
    verdict = _verdict(pytester.path / "out" / "verdict.json")
    assert verdict["status"] == "complete"
    assert verdict["verdict"] == "NO-GO"
    assert verdict["defcon"] == {"level": 2, "name": "FAST PACE"}
    assert verdict["gates"]["probes"]["verdict"] == "GO"
    assert verdict["gates"]["load"] == {"passed": 0, "failed": 1, "error": 0, "skipped": 0, "warnings": 0,
                                        "verdict": "NO-GO"}
    outcomes = {t["nodeid"].split("::")[1]: t["outcome"] for t in verdict["tests"]}
    assert outcomes == {"test_probe_passes": "passed", "test_spike_fails": "failed",
                        "test_manifest_skipped": "skipped", "test_rollout_errors": "error"}
    failed = next(t for t in verdict["tests"] if t["outcome"] == "failed")
    assert "p95 412 ms > baseline 300 ms" in failed["message"]
    assert verdict["measurements"] == [
        {"name": "p95", "check": "p95", "value": 12.5, "unit": "ms", "limit": 1000, "comparison": "<",
         "passed": True, "status": "pass", "details": {"message": "p95 12.5 ms (limit < 1000 ms)"},
         "nodeid": "test_the_verdict_file_holds_gates_tests_measurements_and_config.py::test_probe_passes"}
    ]


def test_the_verdict_file_redacts_credentials_in_urls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.runpytest("--artemis-verdict", "v.json", "--artemis-target", "http://ops:s3cret@127.0.0.1:9")
    text = (pytester.path / "v.json").read_text()
    assert "s3cret" not in text
    assert _verdict(pytester.path / "v.json")["config"]["target"] == "http://ops:***@127.0.0.1:9"


def test_findings_recorded_by_a_test_reach_the_verdict_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_artemis import Finding

        @pytest.mark.manifests
        def test_gate(artemis_record):
            artemis_record.findings([Finding("probe-readiness-missing", "critical", "readinessProbe missing",
                                             kind="Deployment", name="api", file="deploy.yaml", container="api")])
            assert False
        """
    )
    result = pytester.runpytest("--artemis-verdict", "v.json")
    result.stdout.fnmatch_lines(["*deploy.yaml Deployment/api", "*[[]critical] probe-readiness-missing: container api: readinessProbe missing*"])
    finding = _verdict(pytester.path / "v.json")["findings"][0]
    assert finding["check"] == "probe-readiness-missing"
    assert finding["container"] == "api"


def test_an_internal_error_still_writes_a_crashed_verdict(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            raise RuntimeError("collection hook blew up")
        """
    )
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--artemis-verdict", "v.json")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    verdict = _verdict(pytester.path / "v.json")
    assert verdict["status"] == "crashed"
    assert verdict["verdict"] == "NO-GO"
    assert verdict["defcon"]["level"] == 1
    assert "collection hook blew up" in verdict["crash"]


def test_an_interrupted_session_keeps_what_it_had_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.probes
        def test_first():
            pass
        def test_second():
            raise KeyboardInterrupt
        """
    )
    result = pytester.runpytest_subprocess("--artemis-verdict", "v.json", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    verdict = _verdict(pytester.path / "v.json")
    assert verdict["status"] == "interrupted"
    assert verdict["verdict"] == "NO-GO"
    assert verdict["gates"]["probes"]["passed"] == 1


@pytest.mark.parametrize(("sig", "status", "crash"), [(signal.SIGKILL, "running", ""),
                                                     (signal.SIGTERM, "interrupted", "terminated by SIGTERM")],
                         ids=["sigkill", "sigterm"])
def test_a_killed_session_leaves_a_no_go_verdict_of_what_ran(pytester: pytest.Pytester, sig: signal.Signals,
                                                             status: str, crash: str) -> None:
    pytester.makepyfile(
        """
        import pytest, time
        @pytest.mark.probes
        def test_first():
            pass
        def test_hangs():
            open("started", "w").close()
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--artemis-verdict", "v.json"],
        cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (pytester.path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -sig  # the signal still ends the session: exit codes stay pytest's (and the OS's)
    verdict = fold(pytester.path / "v.json")  # a SIGKILLed session's head and journal, folded
    assert (verdict["status"], verdict["crash"]) == (status, crash)
    assert verdict["verdict"] == "NO-GO", "a session that never finished must not read GO"
    assert verdict["defcon"]["level"] == 1
    assert [t["outcome"] for t in verdict["tests"] if t["gate"] == "probes"] == ["passed"]


def test_a_verdict_path_that_cannot_be_written_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError('ran')\n")
    pytester.makefile(".txt", blocker="a file where the verdict's directory should be")
    result = pytester.runpytest("--artemis-verdict", "blocker.txt/v.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*verdict file blocker.txt/v.json cannot be written: * (blocker.txt)*"])


def test_a_verdict_file_that_becomes_unwritable_mid_run_is_named_at_the_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import shutil
        from pathlib import Path

        def test_takes_the_directory_away():
            shutil.rmtree("out")
            Path("out").write_text("now a file")
        """
    )
    result = pytester.runpytest("--artemis-verdict", "out/v.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*MISSION VERDICT: GO*", "*verdict file out/v.json cannot be written: *"])


def test_a_selection_that_ran_nothing_is_no_go(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    result = pytester.runpytest("-m", "prboes", "--artemis-verdict", "v.json")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["no gates ran", "*MISSION VERDICT: NO-GO*DEFCON 4 (DOUBLE TAKE)*"])
    assert _verdict(pytester.path / "v.json")["verdict"] == "NO-GO"


def test_the_verdict_text_holds_exactly_the_record(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MIXED)
    pytester.runpytest("--artemis-verdict", "v.json")
    pytester.makeconftest(
        """
        import json
        from pytest_artemis import Finding
        from pytest_artemis.stash import record_of

        def pytest_sessionfinish(session):
            record = record_of(session.config)
            record.session_findings.append(Finding("session-level", "info", "m"))
            expected = json.loads(json.dumps(record.as_dict(), default=str))
            assert json.loads(record.to_json()) == expected
            print("VERDICT TEXT MATCHES", len(expected["tests"]))
        """
    )
    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["*VERDICT TEXT MATCHES 4*"])
