"""Run the reference service on uvicorn (httptools + uvloop, no access log) with a graceful drain on SIGTERM.

SIGTERM does what Kubernetes expects of a pod being removed: ``/health/ready`` turns 503 at once so the
endpoint is taken out of rotation, requests keep being served for ``drain_seconds``, then the server shuts
down. A second SIGTERM, or SIGINT (Ctrl-C), shuts down at once.

With a metrics port (``ARTEMIS_METRICS_PORT``) one server listens on both ports; the application tells the
requests apart by the port they came in on.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import socket
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


def _listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (uvicorn listens on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


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
    if settings.metrics_port is None:
        server.run()
        return 0 if server.started else 1
    if settings.metrics_port == port:
        log.error("the metrics port %d must differ from the main port", port)
        return 2
    try:
        sockets = [_listen(host, port), _listen(host, settings.metrics_port)]
    except OSError as err:
        log.error("cannot listen on %s (ports %d and %d): %s", host, port, settings.metrics_port, err)
        return 1
    log.info("serving /metrics on port %d only", settings.metrics_port)
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
    return 0 if server.started else 1
