"""Where a run's one-second sample lines come from: one :class:`LogTail` per Locust role.

:class:`FileTail` reads the lines a local child appends to its ``samples-ROLE.jsonl``; the in-cluster runner's
tail reads a pod's log (:class:`pytest_artemis.load.incluster.PodLogTail`). :func:`json_lines` picks the JSON
objects out of lines that may also hold plain log text. No pytest imports here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["FileTail", "LogTail", "json_lines"]


class LogTail:
    """Where one role's sample lines come from: :meth:`read` returns those not read yet (``fresh``: look now,
    even where looking costs a request)."""

    def read(self, fresh: bool = False) -> list[dict[str, Any]]:
        raise NotImplementedError


class FileTail(LogTail):
    """Reads the complete lines appended to one file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.partial = path, 0, ""

    def read(self, fresh: bool = False) -> list[dict[str, Any]]:
        try:
            with self.path.open("r", encoding="utf-8") as fh:
                fh.seek(self.offset)
                text = fh.read()
                self.offset = fh.tell()
        except FileNotFoundError:
            return []
        text, self.partial = self.partial + text, ""
        lines = text.split("\n")
        self.partial = lines.pop()
        return json_lines(lines)


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """The JSON objects among ``lines`` (a child's log also holds plain text: skipped)."""
    out = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
