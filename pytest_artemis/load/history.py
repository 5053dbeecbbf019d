"""The history store: per-scenario JSON runs under ``--artemis-history``, read by the regression gate.

Writes are locked across processes (parallel test workers share the files); an unreadable file is kept
aside for a person to look at and counted as no runs, so it never blocks a release.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["History"]


class History:
    """Per-scenario JSON history of runs (``DIR/SCENARIO.json``), newest last, bounded in length."""

    def __init__(self, directory: Path, scenario: str, keep: int = 50) -> None:
        self.path = Path(directory) / f"{scenario}.json"
        self.keep = keep
        self.problem = ""  # why the file could not be read ('' when it could, or does not exist yet)

    def runs(self) -> list[dict[str, Any]]:
        """The runs on file; an unreadable file counts as no runs (never blocks a release) and sets :attr:`problem`."""
        self.problem = ""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as err:
            self.problem = f"{self.path} cannot be read: {err}"
            return []
        if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
            self.problem = f"{self.path}: expected a JSON object with a 'runs' list, got {type(data).__name__}"
            return []
        return [r for r in data["runs"] if isinstance(r, dict)]

    def green(self) -> list[dict[str, Any]]:
        return [r for r in self.runs() if r.get("green")]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write of the file across processes (parallel test workers share it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / f".{self.path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, figures: dict[str, Any], green: bool) -> None:
        with self._locked():
            runs = (self.runs() + [{"time": time.time(), "green": green, **figures}])[-self.keep:]
            if self.problem and self.path.exists():  # keep the unreadable file for a person to look at
                os.replace(self.path, self.path.with_name(f"{self.path.stem}.unreadable-{int(time.time())}.json"))
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".history-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"runs": runs}, fh, indent=1)
            os.replace(tmp, self.path)
