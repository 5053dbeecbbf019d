"""Child-process lifecycle shared by every service the session starts (reference service, Prometheus, Locust).

The API is small on purpose:

* :func:`free_port` - a free TCP port on the loopback interface.
* :func:`http_ok` - a readiness check: ``GET url`` answers with the expected status.
* :class:`ManagedProcess` - ``start()`` a command in its own process group with its output in a log file,
  ``wait_ready(check, timeout)`` (fails fast when the child dies, and the message ends with the tail of
  its log), ``stop()`` (SIGTERM to the group, then SIGKILL after a grace period), ``log_tail()`` and
  ``diagnosis()`` (one line on whether it still runs or how it ended, then the last lines of its log: what
  a client appends when the service stops answering).

Every started process is remembered until it is stopped. They are stopped at interpreter exit (``atexit``)
and when the parent receives SIGTERM or SIGHUP with the default handler in place; on Linux a child started
from the main thread also gets SIGKILL from the kernel when its parent dies (``PR_SET_PDEATHSIG``), so even
a killed test session leaves no orphans. Children run in their own session, so a terminal's Ctrl-C reaches pytest only and
pytest's teardown stops them in order. After the children are stopped, both nets also remove the session's
temp directory (:mod:`pytest_artemis.services.tempdirs`); the first ``start()`` of a process removes those
that SIGKILLed sessions left behind.

* :func:`install_signal_handlers` - put that SIGTERM/SIGHUP handler in place now (it is installed anyway by
  the first ``start()``); :func:`on_fatal_signal` registers a callback it runs first (e.g. to write a verdict).
* :func:`follow_parent` - make *this* process receive SIGTERM when its parent dies (a pytest-xdist worker
  whose controller is killed then stops its services at once instead of running on).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Self

from pytest_artemis.errors import ServiceStartError
from pytest_artemis.services import tempdirs

__all__ = [
    "ManagedProcess",
    "follow_parent",
    "free_port",
    "http_ok",
    "install_signal_handlers",
    "on_fatal_signal",
    "running_processes",
    "stop_all",
]

_LIVE: dict[int, ManagedProcess] = {}
_OWNER = os.getpid()
_LOCK = threading.Lock()
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, status: int = 200, timeout: float = 1.0) -> Callable[[], bool]:
    """A readiness check that is true once ``GET url`` answers with ``status``."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return bool(response.status == status)
        except urllib.error.HTTPError as err:
            return err.code == status
        except (OSError, ValueError):
            return False

    check.__doc__ = f"GET {url} answers {status}"
    return check


def _set_pdeathsig(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, sig) == 0)
    except (OSError, AttributeError):
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    _set_pdeathsig(signal.SIGKILL)


def follow_parent(sig: int = signal.SIGTERM) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux); True when in force.

    With SIGTERM the handler of :func:`install_signal_handlers` stops this process's children first. If the
    parent died while this was being set up (we were re-parented) the signal is sent at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    if not _set_pdeathsig(sig):
        return False
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def _pdeathsig_safe() -> bool:
    """PR_SET_PDEATHSIG fires when the forking *thread* ends: use it only when forking from the main thread."""
    return sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()


class ManagedProcess:
    """One child process: its own process group, its output in ``log_path``, always stopped."""

    def __init__(self, name: str, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, stop_timeout: float = 5.0) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._stopped = False

    # ------------------------------------------------------------------ state

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen is not None else None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the child's log ('' when there is none)."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 16_384))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start the child in its own session; its stdout and stderr go to the log file."""
        if self.popen is not None:
            raise ServiceStartError(f"{self.name} was already started (pid {self.pid})")
        install_signal_handlers()
        tempdirs.sweep_stale()  # once per process: what SIGKILLed sessions left in the temp directory
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.cwd, start_new_session=True,
                preexec_fn=_die_with_parent if _pdeathsig_safe() else None,  # noqa: PLW1509
            )
        except OSError as err:
            self._log.close()
            raise ServiceStartError(f"{self.name}: cannot run {self.argv[0]}: {err}") from err
        with _LOCK:
            _LIVE[self.popen.pid] = self
        return self

    def wait_ready(self, check: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05,
                   what: str | None = None) -> float:
        """Poll ``check`` until true; return the seconds waited. Fails fast when the child exits."""
        started = time.monotonic()
        deadline = started + timeout
        what = what or (check.__doc__ or "ready")
        while True:
            if self.popen is None:
                raise ServiceStartError(f"{self.name} was never started")
            code = self.popen.poll()
            if code is not None:
                self.stop()
                raise ServiceStartError(self._failure(f"exited with code {code} before it was ready ({what})"))
            if check():
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                self.stop()
                raise ServiceStartError(self._failure(f"not ready after {timeout:g} s ({what})"))
            time.sleep(interval)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the child (not its group), e.g. SIGTERM to start a graceful drain."""
        if self.alive and self.popen is not None:
            self.popen.send_signal(sig)

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL it. Returns the exit code."""
        if self.popen is None:
            return None
        if self._stopped:  # never signal a process group id twice: the id may belong to someone else by now
            return self.popen.returncode
        self._stopped = True
        timeout = self.stop_timeout if timeout is None else timeout
        try:
            if self.popen.poll() is None:
                _signal_group(self.popen.pid, signal.SIGTERM)
                _signal_group(self.popen.pid, signal.SIGCONT)  # a stopped (SIGSTOP) child handles its SIGTERM now
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(5.0)
            else:
                _signal_group(self.popen.pid, signal.SIGKILL)  # grandchildren left in the group
        finally:
            with _LOCK:
                _LIVE.pop(self.popen.pid, None)
            if self._log is not None:
                self._log.close()
        return self.popen.returncode

    def diagnosis(self, lines: int = 5) -> str:
        """How the process is doing, in one line, then the last ``lines`` lines of its log (when it has any)."""
        code = self.returncode
        if self.popen is None:
            state = f"{self.name} was never started"
        elif code is None:
            state = f"{self.name} (pid {self.pid}) is still running"
        elif code < 0:
            try:
                how = signal.Signals(-code).name
            except ValueError:
                how = f"signal {-code}"
            state = f"{self.name} (pid {self.pid}) was killed by {how}"
        else:
            state = f"{self.name} (pid {self.pid}) exited with code {code}"
        tail = self.log_tail(lines) if lines > 0 else ""
        return state + f"; log: {self.log_path}" + (f"\n--- last lines of its log ---\n{tail}" if tail.strip()
                                                     else " (empty)")

    def _failure(self, problem: str) -> str:
        tail = self.log_tail()
        message = f"{self.name} ({' '.join(self.argv[:3])} ...) {problem}; log: {self.log_path}"
        return message + ("\n--- last lines of its log ---\n" + tail if tail else " (empty)")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} alive={self.alive}>"


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def running_processes() -> list[ManagedProcess]:
    """The processes started and not yet stopped."""
    with _LOCK:
        return list(_LIVE.values())


def stop_all(timeout: float = 2.0) -> None:
    """Stop every process started here and not yet stopped (atexit and signal path).

    A forked copy of this process (multiprocessing) inherits the list but owns none of it: it stops nothing.
    """
    if os.getpid() != _OWNER:
        return
    for process in running_processes():
        with contextlib.suppress(Exception):
            process.stop(timeout)


_HANDLED = (signal.SIGTERM, signal.SIGHUP)
_installed = False
_CALLBACKS: list[Callable[[int], None]] = []


def on_fatal_signal(callback: Callable[[int], None]) -> Callable[[], None]:
    """Run ``callback(signal number)`` when SIGTERM/SIGHUP ends this process; returns the unregister function."""
    _CALLBACKS.append(callback)

    def unregister() -> None:
        with contextlib.suppress(ValueError):
            _CALLBACKS.remove(callback)

    return unregister


def _on_fatal_signal(sig: int, frame: FrameType | None) -> None:
    if os.getpid() == _OWNER:  # not in a forked copy (multiprocessing): it owns neither callbacks nor children
        signal.signal(sig, signal.SIG_IGN)  # a second signal while we clean up must not interrupt the clean-up
        for callback in _CALLBACKS[:]:  # a callback may unregister itself
            with contextlib.suppress(Exception):
                callback(sig)
        stop_all(timeout=1.0)
        with contextlib.suppress(Exception):
            tempdirs.remove_session_root()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def install_signal_handlers() -> None:
    """Stop children before dying of SIGTERM/SIGHUP, where nobody else handles those signals."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    for sig in _HANDLED:
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_fatal_signal)


def _at_exit() -> None:
    """Interpreter exit (normal end, Ctrl-C): stop the children, then remove the session's temp directory."""
    stop_all()
    if os.getpid() == _OWNER:
        with contextlib.suppress(Exception):
            tempdirs.remove_session_root()


atexit.register(_at_exit)
