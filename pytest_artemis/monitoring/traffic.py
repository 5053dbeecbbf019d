"""Bounded traffic bursts for the live monitoring checks (no pytest imports).

:class:`Traffic` sends GET requests from one or more background threads, bounded in time and in count,
and tallies the answers by status (0 for a request that got no answer). It is a tool for making the
reference service's metrics move, not a load generator: the load scenarios own load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Self

import httpx

__all__ = ["API_PATHS", "Traffic"]

#: The API routes a burst cycles through.
API_PATHS: tuple[str, ...] = ("/api/v1/status", "/api/v1/missions", "/api/v1/missions/1")


class Traffic:
    """Requests to ``paths`` (cycled) from ``workers`` threads for at most ``seconds`` and ``max_requests``.

    Use it as a context manager (started on enter, stopped and joined on exit) or call :meth:`wait` to
    run it to its end. ``sent`` and ``statuses`` are totals over every worker.
    """

    def __init__(self, base_url: str, paths: tuple[str, ...] = API_PATHS, *, seconds: float, max_requests: int,
                 pause: float = 0.01, workers: int = 1, headers: Mapping[str, str] | None = None,
                 timeout: float = 5.0) -> None:
        self.base_url, self.paths, self.headers = base_url, paths, dict(headers or {})
        self.seconds, self.max_requests, self.pause, self.timeout = seconds, max_requests, pause, timeout
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, name=f"artemis-monitoring-traffic-{n}", daemon=True)
                         for n in range(max(1, workers))]

    def _claim(self) -> int | None:
        """The number of the next request, or None once ``max_requests`` are claimed."""
        with self._lock:
            if self.sent >= self.max_requests:
                return None
            self.sent += 1
            return self.sent - 1

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        with httpx.Client(base_url=self.base_url, timeout=self.timeout, headers=self.headers) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                number = self._claim()
                if number is None:
                    return
                try:
                    status = client.get(self.paths[number % len(self.paths)]).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                self._stop.wait(self.pause)

    def start(self) -> Self:
        for thread in self._threads:
            if thread.ident is None:
                thread.start()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every worker and join them (a request in flight finishes or times out first)."""
        self._stop.set()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(timeout=self.timeout + 5)

    def wait(self) -> Self:
        """Run to the end (starting it when it has not started)."""
        self.start()
        for thread in self._threads:
            thread.join(timeout=self.seconds + self.timeout + 5)
        return self

    def summary(self) -> dict[str, object]:
        """Requests sent and answers by status, for measurements and failure messages."""
        with self._lock:
            return {"requests": self.sent, "statuses": dict(sorted(self.statuses.items()))}
