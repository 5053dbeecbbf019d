"""Real pods for the emulated cluster: a reference-service process per pod behind a loopback balancer.

:class:`Balancer` plays the Service (kube-proxy): a TCP proxy on 127.0.0.1 that sends each new connection to
the next ready endpoint, and refuses the connection (closes it unanswered) when there is none.
:class:`ProcessPods` plays the kubelet and the endpoints controller for pods of the ``ok`` behaviour: each
pod is a real reference service on its own port; the pod is Ready when the process's ``/health/ready``
answers 200 and only then joins the balancer. Deleting a pod in ``rolling`` order takes it out of the
balancer first, waits the preStop sleep, then sends SIGTERM (the service drains and finishes what is in
flight); in ``broken`` order the process is SIGKILLed while the balancer still routes to it for a while, as
a cluster without readiness gating or preStop hook would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_artemis.errors import ArtemisError
from pytest_artemis.services.processes import http_ok
from pytest_artemis.services.target.control import Target, start_reference_service

ORDERS = ("rolling", "broken")


class Balancer:
    """A round-robin TCP proxy on 127.0.0.1 in its own thread; ``backends`` is the live endpoint list."""

    def __init__(self) -> None:
        self.backends: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.refused = 0
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulated-service", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, host: str, port: int) -> None:
        with self.lock:
            if (host, port) not in self.backends:
                self.backends.append((host, port))

    def remove(self, host: str, port: int) -> None:
        with self.lock:
            if (host, port) in self.backends:
                self.backends.remove((host, port))

    def _pick(self) -> tuple[str, int] | None:
        with self.lock:
            return self.backends[next(self._turn) % len(self.backends)] if self.backends else None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        backend = self._pick()
        try:
            if backend is None:
                raise ConnectionRefusedError("no ready endpoints")
            reader, writer = await asyncio.open_connection(*backend)
        except OSError:
            self.refused += 1
            client_writer.close()
            return
        await asyncio.gather(self._pipe(client_reader, writer), self._pipe(reader, client_writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def start(self) -> Balancer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class RunningPod:
    name: str
    target: Target | None = None
    ready: bool = False
    failed: str = ""


class ProcessPods:
    """Reference-service processes for the emulated kubelet, endpoints in a :class:`Balancer`."""

    def __init__(self, log_dir: Path, order: str = "rolling", *, pre_stop: float = 0.3, drain: float = 0.3,
                 endpoint_lag: float = 0.5) -> None:
        assert order in ORDERS, order
        self.log_dir = log_dir
        self.order = order
        self.pre_stop, self.drain, self.endpoint_lag = pre_stop, drain, endpoint_lag
        self.balancer = Balancer().start()
        self.pods: dict[str, RunningPod] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads.append(thread)
        thread.start()

    # ------------------------------------------------------------------ kubelet side

    def ready(self, pod: str) -> bool:
        """Start the pod's process on first sight (in the background); True once its readiness answers 200."""
        with self._lock:
            running = self.pods.get(pod)
            if running is None:
                running = self.pods[pod] = RunningPod(pod)
                start = True
            else:
                start = False
        if start:
            self._spawn(self._start, running)
        return running.ready

    def _start(self, running: RunningPod) -> None:
        try:
            running.target = start_reference_service(self.log_dir, base_env={}, name=running.name,
                                                     drain_seconds=self.drain, wait_for="/health/ready")
        except (OSError, ArtemisError) as err:  # the pod stays unready; the log says why
            running.failed = str(err)
            return
        if running.name not in self.pods:  # deleted while it started
            running.target.stop()
            return
        ready = http_ok(running.target.url + "/health/ready")
        while not ready():
            time.sleep(0.02)
        running.ready = True
        self.balancer.add(*self._address(running))

    @staticmethod
    def _address(running: RunningPod) -> tuple[str, int]:
        assert running.target is not None
        host, port = running.target.url.removeprefix("http://").split(":")
        return host, int(port)

    def delete(self, pod: str) -> None:
        """The pod was deleted: take it away as the chosen order does."""
        with self._lock:
            running = self.pods.pop(pod, None)
        if running is not None:
            self._spawn(self._rolling_stop if self.order == "rolling" else self._broken_stop, running)

    def _rolling_stop(self, running: RunningPod) -> None:
        if running.target is None:
            return
        self.balancer.remove(*self._address(running))  # the endpoint goes first ...
        time.sleep(self.pre_stop)  # ... the preStop sleep covers its propagation ...
        running.target.stop()  # ... then SIGTERM: readiness 503, in-flight requests finish, exit

    def _broken_stop(self, running: RunningPod) -> None:
        if running.target is None or running.target.process is None:
            return
        running.target.process.signal(signal.SIGKILL)  # no drain, requests in flight are cut
        time.sleep(self.endpoint_lag)  # the endpoint still takes traffic until the change propagates
        self.balancer.remove(*self._address(running))
        running.target.stop()

    # ------------------------------------------------------------------ teardown

    def close(self) -> None:
        """Stop every process and the balancer (the test's teardown, whatever happened)."""
        with self._lock:
            running, self.pods = list(self.pods.values()), {}
            threads = list(self._threads)
        for thread in threads:
            thread.join(15)
        for pod in running:
            if pod.target is not None:
                pod.target.stop(2)
        self.balancer.stop()
