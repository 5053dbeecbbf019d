"""The one temporary directory of a test session, ``<tempdir>/artemis-<pid>-<random>/``, and its removal.

Every temporary directory the services of a session need (Prometheus' config, token file and TSDB ...)
is made with :func:`mkdtemp` under :func:`session_root`, so whatever ends the session, one directory is
left to remove:

* :func:`session_root` - created on first use (mode 0700) with an ``owner`` file naming this process (pid
  and start time); one per process, so xdist workers and forked copies each have their own.
* :func:`mkdtemp` - a private (0700) directory under it (or under another root, e.g. a test's tmp_path).
* :func:`remove_session_root` - remove it; :mod:`pytest_artemis.services.processes` calls it at
  interpreter exit (normal end, Ctrl-C) and on SIGTERM/SIGHUP, after it has stopped the children (and an
  exit handler of this module's own covers a process that never started one).
* :func:`sweep_stale` - remove the roots of sessions that could not clean up (SIGKILL, power loss): their
  owner process is gone (or its pid now belongs to a process started later). Called once per process when
  it starts its first service. Only roots of this user are touched.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import stat
import tempfile
import threading
from pathlib import Path

__all__ = ["ROOT_NAME", "mkdtemp", "owner_alive", "remove_session_root", "session_root", "sweep_stale"]

#: What a session root's name looks like: ``artemis-<pid>-<mkdtemp suffix>``.
ROOT_NAME = re.compile(r"^artemis-(\d+)-[A-Za-z0-9_]+$")
_OWNER_FILE = "owner"
_LOCK = threading.Lock()
_root: tuple[int, Path] | None = None  # (pid that made it, path): a forked copy makes its own
_swept: set[int] = set()  # pids that have swept already


def _start_time(pid: int) -> str | None:
    """The process' start time in clock ticks since boot (Linux ``/proc``), None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def session_root() -> Path:
    """This process' session temp directory, created (0700, with its ``owner`` file) on first use."""
    global _root
    pid = os.getpid()
    with _LOCK:
        if _root is not None and _root[0] == pid and _root[1].is_dir():
            return _root[1]
        path = Path(tempfile.mkdtemp(prefix=f"artemis-{pid}-"))
        (path / _OWNER_FILE).write_text(f"{pid} {_start_time(pid) or '-'}\n", encoding="ascii")
        _root = (pid, path)
        return path


def mkdtemp(prefix: str, root: Path | None = None) -> Path:
    """A new private directory named ``prefix...`` under ``root`` (default: :func:`session_root`)."""
    parent = session_root() if root is None else Path(root)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def remove_session_root() -> Path | None:
    """Remove this process' session root and everything in it; returns the path removed (None: none made)."""
    global _root
    with _LOCK:
        if _root is None or _root[0] != os.getpid():  # a forked copy owns none of its parent's directory
            return None
        path = _root[1]
        _root = None
    shutil.rmtree(path, ignore_errors=True)
    return path


def owner_alive(root: Path) -> bool:
    """Whether the process that made ``root`` still runs (a pid reused by a later process does not count)."""
    match = ROOT_NAME.match(root.name)
    if match is None:
        return True
    pid = int(match.group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    try:
        recorded = (root / _OWNER_FILE).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return True  # being created right now, or unreadable: leave it
    now = _start_time(pid)
    return not (len(recorded) == 2 and recorded[1] != "-" and now is not None and recorded[1] != now)


def sweep_stale(tempdir: Path | None = None, *, force: bool = False) -> list[Path]:
    """Remove the session roots under ``tempdir`` whose owner process is gone; once per process unless ``force``."""
    pid = os.getpid()
    with _LOCK:
        if pid in _swept and not force:
            return []
        _swept.add(pid)
    base = Path(tempfile.gettempdir() if tempdir is None else tempdir)
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        if ROOT_NAME.match(entry.name) is None or (_root is not None and entry == _root[1]):
            continue
        with contextlib.suppress(OSError):
            info = entry.lstat()
            if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):  # no symlinks
                continue
            if not owner_alive(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


# processes.py removes the root at exit after stopping the children (its handler runs first: registered
# later); this one covers a process that made temp dirs without starting any service.
atexit.register(remove_session_root)
