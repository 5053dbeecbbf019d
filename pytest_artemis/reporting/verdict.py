"""The verdict file: a small head rewritten in place plus an append-only journal, folded into one JSON at the end.

While the session runs, ``FILE`` holds the head only (``status: running``, NO-GO at DEFCON 1, the gate counts so
far, refreshed at most once a second, and the name of the journal) and ``FILE.journal`` gets one JSON line per finished test, written with a
single ``write`` as the test finishes; so the cost per test does not grow with the session, a SIGKILLed session
leaves every finished test on disk, and the file never reads GO before the session completes. At session end
(or on Ctrl-C, SIGTERM, an internal error) ``FILE`` is replaced by the whole verdict and the journal removed.
:func:`fold` reads a killed session's head and journal back into one verdict (``artemis-verdict FILE``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from pytest_artemis.errors import ConfigError
from pytest_artemis.record import SessionRecord, TestOutcome, dumps

__all__ = ["JOURNAL_SUFFIX", "VerdictWriter", "atomic_write", "fold", "journal_of", "main"]

JOURNAL_SUFFIX = ".journal"


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + JOURNAL_SUFFIX)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as fh:  # open() follows the umask (mkstemp would force 0600)
            fh.write(text)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            where = f" ({err.filename})" if err.filename and str(err.filename) != str(path) else ""
            raise ConfigError(f"verdict file {path} cannot be written: {err.strerror or err}{where}") from err
        raise


class VerdictWriter:
    """Writes one session's verdict file: head + journal while running, the whole verdict at the end."""

    #: The head is rewritten at most this often while tests finish (the journal takes every test at once).
    HEAD_INTERVAL = 1.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal = journal_of(path)
        self._fd: int | None = None
        self._head_written = 0.0

    def start(self, record: SessionRecord) -> None:
        """A fresh head (NO-GO, running) and an empty journal; an older verdict is replaced at once."""
        self._write_head(record)
        self._open_journal()

    def _open_journal(self) -> None:
        try:
            self._fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        except OSError as err:
            raise ConfigError(f"verdict journal {self.journal} cannot be written: {err.strerror or err}") from err

    def _write_head(self, record: SessionRecord) -> None:
        head = dict(record.head(), journal=self.journal.name)
        atomic_write(self.path, dumps(head, indent=2) + "\n")
        self._head_written = time.monotonic()

    def test_done(self, record: SessionRecord, test: TestOutcome) -> None:
        """Append the finished test to the journal (one write) and refresh the small head."""
        if self._fd is None:
            self._open_journal()
        line = (record.journal_line(test) + "\n").encode()
        try:
            os.write(self._fd, line)  # type: ignore[arg-type]
        except OSError as err:
            raise ConfigError(f"verdict journal {self.journal} cannot be written: {err.strerror or err}") from err
        if time.monotonic() - self._head_written >= self.HEAD_INTERVAL:
            self._write_head(record)

    def finish(self, record: SessionRecord) -> None:
        """The whole verdict in ``FILE``; the journal is removed."""
        atomic_write(self.path, record.to_json())
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):
            self.journal.unlink(missing_ok=True)


def fold(path: Path) -> dict[str, Any]:
    """The verdict of ``path``: the whole file of a finished session, or a killed session's head + journal
    folded together (marked ``"complete": false``; its verdict stays NO-GO)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"verdict file {path} cannot be read: {err}") from err
    if "tests" in data:
        data.setdefault("complete", data.get("status") == "complete")
        return data
    journal = path.with_name(str(data.get("journal") or path.name + JOURNAL_SUFFIX))
    tests: dict[str, dict[str, Any]] = {}
    try:
        lines = journal.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by the kill
        tests[entry["test"]["nodeid"]] = entry  # a rerun's later line wins
    data.update(tests=[e["test"] for e in tests.values()],
                findings=[f for e in tests.values() for f in e["findings"]],
                measurements=[m for e in tests.values() for m in e["measurements"]],
                complete=False)
    data.pop("journal", None)
    return data


def main(argv: list[str] | None = None) -> int:
    """``artemis-verdict FILE [-o OUT]``: print (or write) the folded verdict of FILE."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="artemis-verdict",
                                     description="Fold a verdict file (and a killed session's journal) into one JSON.")
    parser.add_argument("file", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=None, help="write here instead of standard output")
    args = parser.parse_args(argv)
    try:
        data = fold(args.file)
    except ConfigError as err:
        print(f"artemis-verdict: {err}", file=sys.stderr)
        return 2
    text = json.dumps(data, indent=2, default=str) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0 if data.get("complete") else 1


if __name__ == "__main__":
    raise SystemExit(main())
