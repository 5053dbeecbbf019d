"""Run the reference service on uvicorn (httptools + uvloop, no access log) with a graceful drain on SIGTERM.

SIGTERM does what Kubernetes expects of a pod being removed: ``/health/ready`` turns 503 at once so the
endpoint is taken out of rotation, requests keep being served for ``drain_seconds``, then the server shuts
down. A second SIGTERM, or SIGINT (Ctrl-C), shuts down at once.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import sys
import threading
from types import FrameType

import uvicorn

from pytest_artemis.services.target.app import Runtime, create_app
from pytest_artemis.services.target.faults import Settings

__all__ = ["DrainingServer", "serve"]

log = logging.getLogger("artemis.target")


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM starts a drain instead of an immediate shutdown."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime
        self._drain_timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and not self.runtime.draining and self.runtime.settings.drain_seconds > 0:
            self.runtime.draining = True
            self.runtime.refresh_gauges()
            seconds = self.runtime.settings.drain_seconds
            log.info("SIGTERM: draining for %.1f s (readiness 503), then shutting down", seconds)
            self._drain_timer = threading.Timer(seconds, self._drained)
            self._drain_timer.daemon = True
            self._drain_timer.start()
            return
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        super().handle_exit(sig, frame)

    def _drained(self) -> None:
        log.info("drain period over: shutting down")
        self.should_exit = True


def _implementations() -> tuple[str, str]:
    """(http, loop): httptools and uvloop when importable (both are dependencies), else uvicorn's defaults."""
    return ("httptools" if importlib.util.find_spec("httptools") else "h11",
            "uvloop" if importlib.util.find_spec("uvloop") else "asyncio")


def serve(host: str, port: int, settings: Settings, log_level: str = "info") -> int:
    """Serve until shut down; returns the process exit code."""
    logging.basicConfig(stream=sys.stderr, level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    assert app.runtime is not None
    http, loop = _implementations()
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level=log_level, lifespan="on",
                            timeout_graceful_shutdown=5, server_header=False, http=http, loop=loop)
    server = DrainingServer(config, app.runtime)
    server.run()
    return 0 if server.started else 1
