"""The seed's command line (artemis-load) and the live progress line."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pytest_artemis.load.cli import DEFAULT_SUITE, build_args

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "expected"), [
    (["--test-type", "load", "--users", "50", "--requests", "100"],
     ["-m", "load", "--artemis-load-param", "users=50", "--artemis-load-param", "requests=100"]),
    (["--test-type", "spike", "--users", "10"], ["-m", "spike", "--artemis-load-param", "users=10"]),
    (["--test-type", "endurance", "--duration", "60"], ["-m", "endurance", "--artemis-load-param", "duration=60.0"]),
    (["--test-type", "scalability", "--max-users", "100", "--step-size", "10"],
     ["-m", "scalability", "--artemis-load-param", "max_users=100", "--artemis-load-param", "step_size=10"]),
    (["--test-type", "chaos", "--duration", "5", "--workers", "2", "--", "-x"],
     ["-m", "chaos", "--artemis-load-param", "duration=5.0", "--artemis-workers", "2", "-x"]),
    (["--test-type", "spike", "--load-mode", "arrival"], ["-m", "spike", "--artemis-load-mode", "arrival"]),
])
def test_the_seed_flags_become_the_matching_pytest_selection(argv: list[str], expected: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    suite, marker, *rest = build_args(argv)
    assert suite == str(DEFAULT_SUITE) and marker == "-m"
    assert [a for a in rest if a not in ("-p", "no:cacheprovider") and not a.startswith("--rootdir=")] \
        == expected[1:]


def test_an_unknown_test_type_is_refused_by_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_args(["--test-type", "soak"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'soak'" in capsys.readouterr().err


def test_artemis_load_runs_a_gated_load_scenario_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_artemis.load.cli", "--test-type", "load", "--users", "5", "--requests", "10",
         "--profile", "smoke", "--", "-p", "no:cacheprovider", "--artemis-verdict", str(tmp_path / "v.json"),
         "--artemis-artifacts", str(tmp_path / "a"), "--artemis-history", str(tmp_path / "h")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout and "MISSION VERDICT: GO" in done.stdout


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) to run pytest on a pseudo-terminal")
@pytest.mark.parametrize(("how", "shown"), [("terminal", True), ("terminal -q", False), ("pipe", False)])
def test_the_live_progress_line_shows_only_on_a_terminal_without_quiet(tmp_path: Path, how: str, shown: bool) -> None:
    # 10 users x 60 requests at 10 requests/s each: about 6 s of load, 10 s planned
    command = (f"{sys.executable} -m pytest suites/test_load_scenarios.py -m load --artemis-profile smoke "
               f"-p no:cacheprovider --artemis-load-param requests=60 --artemis-artifacts {tmp_path / 'a'} "
               f"--artemis-history {tmp_path / 'h'}" + (" -q" if how.endswith("-q") else ""))
    argv = ["script", "-qec", command, "/dev/null"] if how.startswith("terminal") else command.split()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, done.stdout[-2000:]
    line = re.search(r"load: +\d+/10 s  users +10 +[\d,]+ req/s  p95 [\d.,]+ ms  failures 0", done.stdout)
    assert bool(line) is shown, done.stdout[-1500:]


def test_an_interrupted_run_stops_the_locust_master_and_its_workers(tmp_path: Path, locust_children) -> None:
    # SIGINT handled as on a terminal, even when this session was started with SIGINT ignored (exec keeps SIG_DFL)
    default_sigint = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
    argv = [sys.executable, "-c", default_sigint, "-m", "pytest", "suites/test_load_scenarios.py", "-m", "load",
            "--artemis-profile", "smoke",
            "--artemis-workers", "2", "--artemis-load-param", "requests=1000", "-p", "no:cacheprovider",
            "--artemis-artifacts", str(tmp_path / "a"), "--artemis-history", str(tmp_path / "h")]
    session = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(children := locust_children(tmp_path)) < 3 and time.monotonic() < deadline and session.poll() is None:
            time.sleep(0.1)
        assert len(children) == 3, "a master and two workers"
        time.sleep(1.0)  # load is flowing
        session.send_signal(signal.SIGINT)
        output, _ = session.communicate(timeout=60)
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert session.returncode == pytest.ExitCode.INTERRUPTED, output[-2000:]
    assert "KeyboardInterrupt" in output
    psutil.wait_procs(children, timeout=5)
    assert not locust_children(tmp_path)


def test_artemis_load_runs_from_an_empty_directory_and_prints_the_figures_with_their_limits(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest_artemis.load.cli", "--test-type", "spike", "--users", "4",
               "--profile", "smoke"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("ARTEMIS_", "PYTEST_"))})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"1 passed", out) and "MISSION VERDICT: GO" in out
    assert re.search(r"recovery_seconds\s+\S+ s\s+<= \S+ s\s+ok", out), out[-3000:]
    assert re.search(r"p95_ms\s+[\d.,]+ ms\s+<= [\d.,]+ ms\s+ok", out), out[-3000:]
    assert (tmp_path / ".artemis" / "artifacts").is_dir(), "artifacts land in the directory it ran from"
