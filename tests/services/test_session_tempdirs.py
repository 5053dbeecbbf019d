"""One temp directory per session, removed however the session ends; what a SIGKILLed one leaves, the next removes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pids import wait_gone

from pytest_artemis.services.tempdirs import ROOT_NAME, owner_alive, sweep_stale

needs_prometheus = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs `apt-get install prometheus`")

#: An inner test that starts the target and Prometheus, records what it started and where, then waits.
WAITING_TEST = """
import json, os, time
from pathlib import Path
from pytest_artemis.services.processes import running_processes
from pytest_artemis.services.tempdirs import session_root

def test_records_then_waits(artemis_config, target, prom):
    state = {"pids": [p.pid for p in running_processes()], "root": str(session_root()),
             "workdirs": [str(p) for p in session_root().glob("artemis-prometheus-*")]}
    Path("state.tmp").write_text(json.dumps(state))
    os.replace("state.tmp", "state.json")
    time.sleep(60)
"""


def dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]


@pytest.fixture
def private_tmp(tmp_path: Path) -> Path:
    """A temp directory of the test's own (TMPDIR of the inner sessions): nobody else's roots in it."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path


@pytest.fixture
def session_env(private_tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(private_tmp)}


@pytest.fixture
def sessions() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Inner sessions the test starts; any still running at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for session in started:
        if session.poll() is None:
            session.kill()
            session.wait(10)


def start_waiting_session(pytester: pytest.Pytester, env: dict[str, str],
                          sessions: list[subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], dict]:
    pytester.makepyfile(test_waits=WAITING_TEST)
    session = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=pytester.path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sessions.append(session)
    deadline = time.monotonic() + 60
    while not (pytester.path / "state.json").exists():
        assert time.monotonic() < deadline and session.poll() is None, "the inner session never reached its test"
        time.sleep(0.1)
    state = json.loads((pytester.path / "state.json").read_text())
    assert len(state["pids"]) == 2 and len(state["workdirs"]) == 1, state
    return session, state


def artemis_entries(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("artemis-"))


# ---------------------------------------------------------------------- the sweep


def test_sweep_removes_roots_whose_owner_is_gone_or_was_replaced_and_keeps_the_rest(tmp_path: Path) -> None:
    me, gone_pid = os.getpid(), dead_pid()
    dead = tmp_path / f"artemis-{gone_pid}-abc123"
    replaced = tmp_path / f"artemis-{me}-reused"
    live = tmp_path / f"artemis-{me}-live"
    fresh = tmp_path / f"artemis-{me}-fresh"  # no owner file yet: being created
    other = tmp_path / "artemis-prometheus-xyz"  # not a session root
    for path in (dead, replaced, live, fresh, other):
        (path / "tsdb").mkdir(parents=True)
    (dead / "owner").write_text(f"{gone_pid} 1\n")
    (replaced / "owner").write_text(f"{me} 1\n")  # the pid is ours now, but its process started later
    (live / "owner").write_text(f"{me} {start_time(me)}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"artemis-{gone_pid}-link").symlink_to(elsewhere)

    removed = sweep_stale(tmp_path, force=True)

    assert sorted(p.name for p in removed) == sorted([dead.name, replaced.name])
    assert not dead.exists() and not replaced.exists()
    assert live.is_dir() and fresh.is_dir() and other.is_dir() and elsewhere.is_dir()
    assert (tmp_path / f"artemis-{gone_pid}-link").is_symlink(), "a symlink is never followed nor removed"
    assert owner_alive(live) and ROOT_NAME.match(live.name)


def test_private_dirs_live_under_one_root_that_is_removed_when_the_process_ends(session_env: dict[str, str],
                                                                                 private_tmp: Path) -> None:
    code = """
        import json, stat
        from pytest_artemis.services.tempdirs import mkdtemp, session_root
        a, b = mkdtemp("artemis-prometheus-"), mkdtemp("artemis-other-")
        print(json.dumps({"root": str(session_root()), "dirs": [str(a), str(b)],
                          "modes": [oct(stat.S_IMODE(p.stat().st_mode)) for p in (session_root(), a, b)]}))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=session_env, capture_output=True,
                            text=True, timeout=60, check=True)
    made = json.loads(result.stdout)
    root = Path(made["root"])
    assert root.parent == private_tmp and ROOT_NAME.match(root.name)
    assert all(Path(d).parent == root for d in made["dirs"])
    assert made["modes"] == ["0o700"] * 3
    assert artemis_entries(private_tmp) == [], "the root goes at interpreter exit"


# ---------------------------------------------------------------------- sessions that end badly


@needs_prometheus
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_session_ended_by_a_signal_leaves_no_temp_dir_and_no_process(
        pytester: pytest.Pytester, session_env: dict[str, str], private_tmp: Path,
        sessions: list[subprocess.Popen[bytes]], sig: signal.Signals) -> None:
    session, state = start_waiting_session(pytester, session_env, sessions)
    assert Path(state["root"]).parent == private_tmp and Path(state["workdirs"][0]).parent == Path(state["root"])
    session.send_signal(sig)
    session.wait(30)
    assert wait_gone(state["pids"]) == [], f"left running after {sig.name}"
    assert artemis_entries(private_tmp) == [], f"left in the temp directory after {sig.name}"


@needs_prometheus
def test_what_a_sigkilled_session_leaves_is_removed_by_the_next_session_that_starts_a_service(
        pytester: pytest.Pytester, session_env: dict[str, str], private_tmp: Path,
        sessions: list[subprocess.Popen[bytes]]) -> None:
    session, state = start_waiting_session(pytester, session_env, sessions)
    session.kill()
    session.wait(10)
    assert wait_gone(state["pids"]) == [], "the kernel ends the children of a SIGKILLed session"
    leftover = Path(state["root"])
    assert leftover.is_dir() and Path(state["workdirs"][0]).is_dir(), "nothing could clean up after SIGKILL"

    (pytester.path / "test_waits.py").unlink()
    pytester.makepyfile(test_next="def test_starts_a_service(target):\n    assert target.pid\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=pytester.path,
                            env=session_env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert not leftover.exists(), "the next session removes the root of a session that is gone"
    assert artemis_entries(private_tmp) == []
