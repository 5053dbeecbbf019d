"""The processes a test started, gone or not: :func:`wait_gone` waits until none of them exists any more."""

from __future__ import annotations

import time

import psutil


def wait_gone(pids: list[int], within: float = 5.0) -> list[int]:
    """Wait up to ``within`` seconds for every pid to be gone; the ones still there."""
    deadline = time.monotonic() + within
    while any(psutil.pid_exists(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if psutil.pid_exists(p)]
