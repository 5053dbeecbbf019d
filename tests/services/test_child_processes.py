"""The shared child-process lifecycle: readiness waits, clean stops, and no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_artemis.errors import ServiceStartError
from pytest_artemis.services.processes import ManagedProcess, free_port, http_ok, running_processes, stop_all


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie of ours counts as gone once reaped
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def test_free_port_can_be_bound_on_loopback() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_child_that_exits_early_fails_fast_with_the_tail_of_its_log(tmp_path: Path) -> None:
    process = ManagedProcess("crasher", python("import sys; print('cannot open database'); sys.exit(3)"),
                             log_path=tmp_path / "crasher.log").start()
    started = time.monotonic()
    with pytest.raises(ServiceStartError) as err:
        process.wait_ready(lambda: False, timeout=10, what="never")
    assert time.monotonic() - started < 5
    assert "exited with code 3" in str(err.value)
    assert "cannot open database" in str(err.value)
    assert process not in running_processes()


def test_readiness_timeout_stops_the_child_and_names_what_was_awaited(tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", python("import time; print('still booting', flush=True); time.sleep(60)"),
                             log_path=tmp_path / "sleeper.log").start()
    url = f"http://127.0.0.1:{free_port()}/health"
    with pytest.raises(ServiceStartError) as err:
        process.wait_ready(http_ok(url), timeout=0.5)
    assert f"not ready after 0.5 s (GET {url} answers 200)" in str(err.value)
    assert "still booting" in str(err.value)
    assert process.pid is not None and gone(process.pid)


def test_stop_escalates_to_sigkill_when_the_child_ignores_sigterm(tmp_path: Path) -> None:
    code = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('ready', flush=True)
        time.sleep(60)
    """
    log = tmp_path / "stubborn.log"
    process = ManagedProcess("stubborn", python(code), log_path=log).start()
    process.wait_ready(lambda: "ready" in log.read_text(), timeout=10)
    started = time.monotonic()
    assert process.stop(timeout=0.3) == -signal.SIGKILL
    assert time.monotonic() - started < 3


def test_stop_also_ends_grandchildren_in_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code = f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
        open({str(pid_file)!r}, 'w').write(str(child.pid))
        time.sleep(60)
    """
    process = ManagedProcess("parent", python(code), log_path=tmp_path / "parent.log").start()
    process.wait_ready(lambda: pid_file.exists() and pid_file.read_text().strip() != "", timeout=10)
    grandchild = int(pid_file.read_text())
    process.stop(timeout=2)
    assert gone(grandchild), f"grandchild {grandchild} still running after stop()"


def test_stop_all_stops_every_process_still_running(tmp_path: Path) -> None:
    processes = [ManagedProcess(f"idle-{i}", python("import time; time.sleep(60)"),
                                log_path=tmp_path / f"idle-{i}.log").start() for i in range(2)]
    stop_all()
    assert all(p.pid is not None and gone(p.pid) for p in processes)
    assert not any(p in running_processes() for p in processes)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_children_do_not_outlive_a_parent_that_is_killed(tmp_path: Path, sig: signal.Signals) -> None:
    pid_file = tmp_path / "child.pid"
    code = f"""
        import sys, time
        from pathlib import Path
        from pytest_artemis.services.processes import ManagedProcess
        child = ManagedProcess('idle', [sys.executable, '-c', 'import time; time.sleep(60)'],
                               log_path=Path({str(tmp_path / 'idle.log')!r})).start()
        Path({str(pid_file)!r}).write_text(str(child.pid))
        time.sleep(60)
    """
    parent = subprocess.Popen(python(code))
    deadline = time.monotonic() + 15
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.send_signal(sig)
    parent.wait(10)
    assert gone(child), f"child {child} outlived its parent killed by {sig.name}"


def test_a_forked_copy_that_is_terminated_leaves_its_parents_children_alone(tmp_path: Path) -> None:
    code = f"""
        import os, signal, sys
        from pathlib import Path
        from pytest_artemis.services.processes import ManagedProcess, stop_all
        child = ManagedProcess('idle', [sys.executable, '-c', 'import time; time.sleep(60)'],
                               log_path=Path({str(tmp_path / 'idle.log')!r})).start()  # installs the handler
        copy = os.fork()
        if copy == 0:  # what multiprocessing's fork start method does; Process.terminate() sends SIGTERM
            stop_all()
            os.kill(os.getpid(), signal.SIGTERM)
            os._exit(0)
        _, status = os.waitpid(copy, 0)
        print("copy ended by", os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit")
        print("child alive", child.alive)
        child.stop()
    """
    result = subprocess.run(python(code), capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.split("\n")[:2] == [f"copy ended by {int(signal.SIGTERM)}", "child alive True"], \
        result.stdout + result.stderr
