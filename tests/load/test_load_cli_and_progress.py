"""The seed's command line (artemis-load) and the live progress line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_artemis.load.cli import build_args

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
])
def test_the_seed_flags_become_the_matching_pytest_selection(argv: list[str], expected: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert build_args(argv) == ["suites/test_load_scenarios.py", *expected]


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
@pytest.mark.parametrize(("quiet", "shown"), [(False, True), (True, False)])
def test_the_live_progress_line_shows_only_on_a_terminal_without_quiet(tmp_path: Path, quiet: bool,
                                                                       shown: bool) -> None:
    command = (f"{sys.executable} -m pytest suites/test_load_scenarios.py -m endurance --artemis-profile smoke "
               f"-p no:cacheprovider --artemis-load-param duration=5 --artemis-artifacts {tmp_path / 'a'} "
               f"--artemis-history {tmp_path / 'h'}" + (" -q" if quiet else ""))
    on_tty = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False, env={**os.environ, "COLUMNS": "120"})
    assert on_tty.returncode == 0, on_tty.stdout[-2000:]
    assert ("endurance:    3/5 s  users" in on_tty.stdout) is shown, on_tty.stdout[-1500:]
    piped = subprocess.run(command.split(), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert "/5 s  users" not in piped.stdout
