"""The verdict file of a running session: a small head that never reads GO plus a journal with one line per
finished test; a SIGKILLed session leaves every finished test on disk, and ``artemis-verdict`` folds them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _wait_for(path: Path, lines: int, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().count("\n") >= lines):
        assert time.monotonic() < deadline and process.poll() is None, "the session did not get that far"
        time.sleep(0.05)


def test_a_sigkilled_session_leaves_every_finished_test_and_folds_into_an_incomplete_no_go(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.parametrize("n", range(5))
        def test_quick(n, artemis_record):
            artemis_record.measurement("n", n, "", limit=10, comparison="<=", passed=True)

        def test_hangs():
            time.sleep(60)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ARTEMIS_"))}
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                                "--artemis-verdict=v.json"], cwd=pytester.path, env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(pytester.path / "v.json.journal", 5, process)
        head = json.loads((pytester.path / "v.json").read_text())
        assert (head["status"], head["verdict"], head["defcon"]["level"]) == ("running", "NO-GO", 1)
        assert "tests" not in head and head["journal"] == "v.json.journal", "the head stays small"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    done = subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.verdict", "v.json"],
                          cwd=pytester.path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, "an incomplete session's fold exits 1"
    folded = json.loads(done.stdout)
    assert folded["complete"] is False and folded["verdict"] == "NO-GO"
    assert sorted(t["nodeid"].split("::")[1] for t in folded["tests"]) == [f"test_quick[{n}]" for n in range(5)]
    assert len(folded["measurements"]) == 5


def test_a_finished_session_leaves_one_whole_verdict_and_no_journal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    pytester.runpytest("--artemis-verdict", "v.json").assert_outcomes(passed=1)
    assert not (pytester.path / "v.json.journal").exists()
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert verdict["verdict"] == "GO" and len(verdict["tests"]) == 1
    done = subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.verdict", "v.json"],
                          cwd=pytester.path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["complete"] is True
