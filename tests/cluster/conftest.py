"""Fixtures of the cluster tests: the emulated Kubernetes API on loopback with its scripted controllers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpcore  # noqa: F401  imported once here: an in-process pytester run must not re-import it (httpx maps
import pytest  # the exceptions of the httpcore it saw first, and a second copy's errors would escape it)

sys.path.insert(0, str(Path(__file__).parent))

import threading
from collections.abc import Callable

from controller import Controller
from jobs import CommandPods
from kubeapi import ApiServer, Store
from pods import ProcessPods


@dataclass
class Emulator:
    """A running emulated API server, its store, its controllers and a kubeconfig pointing at it."""

    server: ApiServer
    store: Store
    controller: Controller
    kubeconfig: Path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulated API server on 127.0.0.1 (a random port) with the deployment controller running."""
    store = Store()
    server = ApiServer(store)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    controller = Controller(store)
    controller.start()
    try:
        yield Emulator(server, store, controller, server.write_kubeconfig(tmp_path / "kubeconfig"))
    finally:
        controller.stop()
        server.shutdown()
        server.server_close()


@pytest.fixture
def process_pods(kube_api: Emulator, tmp_path: Path) -> Iterator[Callable[[str], ProcessPods]]:
    """``process_pods(order)``: from now on ``ok`` pods are reference-service processes behind a balancer."""
    started: list[ProcessPods] = []

    def use(order: str) -> ProcessPods:
        pods = ProcessPods(tmp_path / "pods", order)
        (tmp_path / "pods").mkdir(exist_ok=True)
        started.append(pods)
        kube_api.controller.pods = pods
        return pods
    yield use
    kube_api.controller.stop()  # no new pods while the processes are stopped
    for pods in started:
        pods.close()


@pytest.fixture
def command_pods(kube_api: Emulator, tmp_path: Path) -> Iterator[CommandPods]:
    """From now on a Job's pods run their containers' commands as local processes (stopped at teardown)."""
    pods = CommandPods(kube_api.store, tmp_path / "job-pods", kube_api.controller.event)
    kube_api.controller.commands = pods
    yield pods
    kube_api.controller.stop()
    pods.close()
