"""Per-session artifact directories, bounded: ``<artifacts>/<start time>-<pid>/``, the last N kept.

Every log, Locust report and chart of a session goes under its own directory (named by its start
time), the verdict file names it, and when a session first writes there the oldest session directories
beyond ``--artemis-keep-sessions`` are removed. The directory is created on first use only, so a session
that writes nothing leaves nothing behind; xdist workers share their controller's.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SESSION_NAME", "SessionDir", "new_name"]

#: What a session directory's name looks like (other entries of the artifacts directory are left alone).
SESSION_NAME = re.compile(r"^\d{8}-\d{6}-\d{3}-\d+$")


def new_name(now: float | None = None, pid: int | None = None) -> str:
    """``YYYYmmdd-HHMMSS-mmm-PID`` in UTC: sorts by start time."""
    import os

    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"-{int(now * 1000) % 1000:03d}"
    return f"{stamp}-{os.getpid() if pid is None else pid}"


class SessionDir:
    """The session's artifact directory; :attr:`path` creates it (and prunes old ones) on first use."""

    def __init__(self, root: Path, name: str, keep: int) -> None:
        self.root, self.name, self.keep = root, name, keep
        self._lock = threading.Lock()
        self._created = False

    @property
    def planned(self) -> Path:
        """Where the directory is (or will be), without creating it."""
        return self.root / self.name

    @property
    def path(self) -> Path:
        with self._lock:
            if not self._created:
                self.planned.mkdir(parents=True, exist_ok=True)
                self._created = True
                self.prune()
        return self.planned

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the session-wide lock ``name`` (shared by every xdist worker of the session) while inside.

        Load scenarios and live monitoring traffic take ``"traffic"``: two of them at once would disturb each
        other's figures and can saturate the machine, so they never overlap, whichever worker runs them.
        """
        path = self.path / f".{name}.lock"
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def prune(self) -> list[Path]:
        """Remove the oldest session directories so that at most ``keep`` remain (this one included)."""
        sessions = sorted(p for p in self.root.iterdir() if p.is_dir() and SESSION_NAME.match(p.name))
        doomed = [p for p in sessions if p.name != self.name][: max(0, len(sessions) - self.keep)]
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
        return doomed
