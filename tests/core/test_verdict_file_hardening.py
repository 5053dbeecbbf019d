"""The verdict file under faults: a usage error replaces an older GO, the file follows the umask, and SIGTERM
says in one line where the verdict is."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest


def test_a_usage_error_replaces_an_older_go_verdict_with_no_go_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    pytester.runpytest("--artemis-verdict", "v.json").assert_outcomes(passed=1)
    assert json.loads((pytester.path / "v.json").read_text())["verdict"] == "GO"
    result = pytester.runpytest("--artemis-profile", "nonsense", "--artemis-verdict", "v.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert verdict["verdict"] == "NO-GO" and verdict["status"] == "crashed"
    assert "usage error: --artemis-profile got 'nonsense'" in verdict["crash"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_the_verdict_file_follows_the_umask(pytester: pytest.Pytester, umask: int) -> None:
    pytester.makepyfile("def test_ok(artemis_config):\n    pass\n")
    old = os.umask(umask)
    try:
        pytester.runpytest("--artemis-verdict", "v.json").assert_outcomes(passed=1)
    finally:
        os.umask(old)
    assert stat.S_IMODE((pytester.path / "v.json").stat().st_mode) == 0o666 & ~umask


def test_sigterm_writes_an_interrupted_verdict_and_says_so_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time

        def test_waits(artemis_config):
            open("started", "w").close()
            time.sleep(30)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ARTEMIS_"))}
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--artemis-verdict",
                                "v.json"], cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (pytester.path / "started").exists():
            assert time.monotonic() < deadline and process.poll() is None, "the session did not start its test"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert verdict["status"] == "interrupted" and verdict["verdict"] == "NO-GO"
    lines = [line for line in err.splitlines() if "artemis" in line or "Traceback" in line]
    assert lines == ["artemis: session terminated by SIGTERM; verdict in v.json"], err
