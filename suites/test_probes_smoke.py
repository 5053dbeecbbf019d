"""Probes gate (Vital Signs): the target's health endpoints answer as Kubernetes probes expect, readiness
takes the target out of rotation when it must, and Prometheus scrapes the target's metrics.

Runs against the bundled reference service by default, or any service with ``--artemis-target URL``
(the fault-switch tests then skip: they need the reference service's admin endpoint). A target URL may
carry credentials and a query (``https://user:pass@host/?token=x``): every probe sends them as an
``Authorization: Basic`` header and keeps the query (``/health/ready?token=x``); messages and tracebacks
show the URL redacted.
"""

from __future__ import annotations

import time

import httpx
import pytest

from pytest_artemis.load.probes import TargetURL
from pytest_artemis.redact import redact
from pytest_artemis.services.prometheus import JOB
from pytest_artemis.services.target import metrics

pytestmark = pytest.mark.probes

PROBES = {
    "/health": "startup probe",
    "/health/live": "liveness probe",
    "/health/ready": "readiness probe",
}
#: A probe slower than this fails kubelet's default timeoutSeconds (1 s).
PROBE_TIMEOUT_SECONDS = 1.0


class Probe:
    """GETs paths on the target with its credentials and query; shown (in a traceback too) redacted."""

    def __init__(self, url: str) -> None:
        self.target = TargetURL.parse(url)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.target.url(path), headers=dict(self.target.headers), timeout=PROBE_TIMEOUT_SECONDS * 5)

    def __repr__(self) -> str:
        return f"<Probe {self.target.shown()}>"


@pytest.fixture(scope="module")
def probe(target_url: str) -> Probe:
    """Probes of the session's target."""
    return Probe(target_url)


def needs_admin(target: object) -> None:
    if not getattr(target, "managed", False) or getattr(target, "admin", None) is None:
        pytest.skip("fault switches need the managed reference service (no --artemis-target)")


@pytest.mark.smoke
@pytest.mark.parametrize("path", list(PROBES), ids=[p.strip("/").replace("/", "-") for p in PROBES])
def test_probe_answers_200_within_kubelet_timeout(probe: Probe, path: str, artemis_record) -> None:
    started = time.perf_counter()
    response = probe.get(path)
    elapsed = time.perf_counter() - started
    artemis_record.measurement(f"{PROBES[path]} latency", round(elapsed * 1000, 2), "ms",
                               limit=PROBE_TIMEOUT_SECONDS * 1000, comparison="<=",
                               passed=elapsed <= PROBE_TIMEOUT_SECONDS, path=path)
    assert response.status_code == 200, redact(
        f"{PROBES[path]} GET {path}: expected 200, got {response.status_code}: {response.text[:200]}")
    assert elapsed <= PROBE_TIMEOUT_SECONDS, (
        f"{PROBES[path]} GET {path}: answered in {elapsed * 1000:.0f} ms > kubelet timeout "
        f"{PROBE_TIMEOUT_SECONDS * 1000:.0f} ms")


@pytest.mark.parametrize("fault", [{"readiness_down": True}, {"dependencies_down": ["database"]}],
                         ids=["readiness-fault", "database-down"])
def test_readiness_turns_503_under_fault_while_liveness_stays_200(target, probe: Probe,
                                                                  fault: dict[str, object]) -> None:
    needs_admin(target)
    target.admin.set(**fault)
    ready = probe.get("/health/ready")
    live = probe.get("/health/live")
    assert ready.status_code == 503, f"/health/ready with {fault}: expected 503, got {ready.status_code}"
    assert ready.json()["reasons"], "a 503 readiness answer lists why the target is not ready"
    assert live.status_code == 200, f"/health/live with {fault}: expected 200, got {live.status_code}"
    target.admin.reset()
    assert probe.get("/health/ready").status_code == 200, "readiness did not recover after the fault"


@pytest.mark.smoke
def test_prometheus_scrapes_the_target(prom) -> None:
    prom.wait_for(f'max(up{{job="{JOB}"}})', lambda v: v == 1, timeout=15,
                  description=f'up{{job="{JOB}"}} == 1 (the target is scraped)')


def test_request_counter_counts_probe_requests_in_prometheus(prom, probe: Probe) -> None:
    expr = f'sum({metrics.REQUESTS_TOTAL}{{job="{JOB}", route="/health/live"}})'
    before = prom.query_value(expr, default=0.0) or 0.0
    for _ in range(5):
        assert probe.get("/health/live").status_code == 200
    prom.wait_for(expr, lambda v: v is not None and v >= before + 5, timeout=15,
                  description=f"{metrics.REQUESTS_TOTAL} to grow by 5 from {before:g}")
