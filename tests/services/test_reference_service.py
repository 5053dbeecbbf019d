"""The reference service as a client sees it: probes, API, /metrics, every fault switch, admin auth, drain."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pytest_artemis.errors import ServiceStartError
from pytest_artemis.services.target import metrics
from pytest_artemis.services.target.faults import FaultError, Faults
from pytest_artemis.services.target.instruments import cpu_limit_cores, memory_limit_bytes


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(url + "/metrics").text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(url: str, name: str, **labels: str) -> float:
    return scrape(url).get((name, frozenset(labels.items())), 0.0)


def timed_get(url: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = httpx.get(url, timeout=10)
    return response, time.perf_counter() - started


# ---------------------------------------------------------------------- metrics contract


def test_metrics_expose_exactly_the_names_of_the_contract(target) -> None:
    httpx.get(target.url + "/api/v1/status")
    httpx.get(target.url + "/admin/faults")  # one failed auth, so the counter has a series
    exposed = {name for name, _ in scrape(target.url)}
    expected = metrics.INVENTORY - {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
    assert expected - exposed == set(), "names promised by metrics.py but not exposed"
    assert {n for n in exposed if n.startswith("artemis_")} - expected == set(), "names exposed but not promised"


def test_request_metrics_use_the_route_template_method_and_status(target) -> None:
    key = {"route": "/api/v1/missions/{mission_id:int}", "method": "GET", "status": "404"}
    before = value(target.url, metrics.REQUESTS_TOTAL, **key)
    assert httpx.get(target.url + "/api/v1/missions/987654").status_code == 404
    assert value(target.url, metrics.REQUESTS_TOTAL, **key) == before + 1
    assert value(target.url, metrics.REQUEST_DURATION + "_count", **key) == before + 1


def test_limits_come_from_the_cgroup_files_when_they_set_one(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("536870912\n")
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert memory_limit_bytes(tmp_path) == 536870912
    assert cpu_limit_cores(tmp_path) == 0.5
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert memory_limit_bytes(tmp_path) > 536870912  # the machine's memory
    assert cpu_limit_cores(tmp_path) >= 1


# ---------------------------------------------------------------------- API


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/api/v1/missions?limit=2", None, 200),
    ("GET", "/api/v1/missions?limit=abc", None, 400),
    ("GET", "/api/v1/missions?limit=500", None, 400),
    ("GET", "/api/v1/missions?priority=urgent", None, 400),
    ("GET", "/api/v1/missions/1", None, 200),
    ("GET", "/api/v1/missions/424242", None, 404),
    ("POST", "/api/v1/missions", b'{"name": "Lunar Gateway", "priority": "high", "crew": 4}', 201),
    ("POST", "/api/v1/missions", b'{"name": "", "crew": 40}', 422),
    ("POST", "/api/v1/missions", b'{"name": "x", "launch": "tomorrow"}', 422),
    ("POST", "/api/v1/missions", b"[1, 2]", 422),
    ("POST", "/api/v1/missions", b"{not json", 400),
    ("GET", "/api/v1/status", None, 200),
])
def test_api_answers_with_the_status_its_input_deserves(target, method: str, path: str, body: bytes | None,
                                                        status: int) -> None:
    response = httpx.request(method, target.url + path, content=body)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["error"], "an error answer says what was wrong"


def test_created_mission_can_be_read_back_and_validation_lists_every_problem(target) -> None:
    created = httpx.post(target.url + "/api/v1/missions", json={"name": "Artemis III", "crew": 4})
    assert httpx.get(target.url + created.headers["location"]).json()["name"] == "Artemis III"
    invalid = httpx.post(target.url + "/api/v1/missions", json={"name": "", "crew": 99, "priority": "asap"})
    assert {p["field"] for p in invalid.json()["problems"]} == {"name", "crew", "priority"}


def test_pool_gauges_report_the_configured_pool_size(reference_service_factory) -> None:
    service = reference_service_factory(env={"ARTEMIS_POOL_SIZE": "3"})
    assert value(service.url, metrics.POOL_SIZE, pool="database") == 3
    assert value(service.url, metrics.POOL_IN_USE, pool="database") == 0
    assert httpx.get(service.url + "/api/v1/status").json()["pool"] == {"size": 3, "in_use": 0}


def test_writes_beyond_an_exhausted_pool_answer_503_and_the_gauge_shows_it_busy(reference_service_factory) -> None:
    service = reference_service_factory(env={"ARTEMIS_POOL_SIZE": "1", "ARTEMIS_WRITE_HOLD_MS": "600",
                                             "ARTEMIS_POOL_TIMEOUT_SECONDS": "0.1"})

    async def burst() -> tuple[list[httpx.Response], float]:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            writes = [asyncio.ensure_future(client.post("/api/v1/missions", json={"name": f"m{i}"})) for i in range(3)]
            await asyncio.sleep(0.3)
            in_use = value(service.url, metrics.POOL_IN_USE, pool="database")
            return list(await asyncio.gather(*writes)), in_use

    responses, in_use = asyncio.run(burst())
    assert in_use == 1
    assert sorted(r.status_code for r in responses) == [201, 503, 503]
    assert "all 1 connections busy for 0.1 s" in next(r for r in responses if r.status_code == 503).json()["error"]
    assert value(service.url, metrics.POOL_IN_USE, pool="database") == 0


# ---------------------------------------------------------------------- fault switches at run time


def test_latency_fault_delays_api_requests_but_not_probes(target) -> None:
    target.admin.set(latency_ms=200)
    _, api = timed_get(target.url + "/api/v1/status")
    _, probe = timed_get(target.url + "/health/live")
    assert api >= 0.2, f"API answered in {api * 1000:.0f} ms with a 200 ms latency fault"
    assert probe < 0.15, f"liveness answered in {probe * 1000:.0f} ms; probes must not be delayed"
    assert value(target.url, metrics.FAULT_ACTIVE, fault="latency") == 1


def test_latency_jitter_spreads_the_added_delay(target) -> None:
    target.admin.set(latency_ms=60, latency_jitter_ms=50)
    durations = [timed_get(target.url + "/api/v1/missions")[1] for _ in range(12)]
    assert min(durations) >= 0.009
    assert max(durations) - min(durations) > 0.02, f"no jitter seen in {durations}"


def test_error_ratio_fault_turns_that_share_of_api_requests_into_500(target) -> None:
    key = {"route": "/api/v1/status", "method": "GET", "status": "500"}
    before = value(target.url, metrics.REQUESTS_TOTAL, **key)
    target.admin.set(error_ratio=1.0)
    statuses = [httpx.get(target.url + "/api/v1/status").status_code for _ in range(10)]
    assert statuses == [500] * 10
    assert value(target.url, metrics.REQUESTS_TOTAL, **key) == before + 10
    target.admin.set(error_ratio=0.5)
    with httpx.Client(base_url=target.url) as client:
        failed = sum(client.get("/api/v1/missions").status_code == 500 for _ in range(100))
    assert 20 <= failed <= 80, f"{failed} of 100 failed with error_ratio 0.5 (6 standard deviations allowed)"


@pytest.mark.parametrize(("fault", "reason", "gauge"), [
    ({"readiness_down": True}, "readiness fault on", (metrics.FAULT_ACTIVE, {"fault": "readiness"}, 1)),
    ({"dependencies_down": ["database"]}, "dependency database down",
     (metrics.DEPENDENCY_UP, {"dependency": "database"}, 0)),
])
def test_readiness_faults_answer_503_with_the_reason(target, fault, reason, gauge) -> None:
    target.admin.set(**fault)
    ready = httpx.get(target.url + "/health/ready")
    assert ready.status_code == 503 and reason in ready.json()["reasons"]
    assert httpx.get(target.url + "/health/live").status_code == 200
    name, labels, expected = gauge
    assert value(target.url, name, **labels) == expected
    assert value(target.url, metrics.READY) == 0
    target.admin.reset()
    assert httpx.get(target.url + "/health/ready").status_code == 200
    assert value(target.url, metrics.READY) == 1


def test_slow_startup_fault_re_initialises_the_service_for_that_long(target) -> None:
    target.admin.set(slow_startup_seconds=0.6)
    assert httpx.get(target.url + "/health").status_code == 503
    assert httpx.get(target.url + "/api/v1/status").status_code == 503
    time.sleep(0.7)
    assert httpx.get(target.url + "/health").status_code == 200


def test_memory_growth_fault_grows_resident_memory_until_reset(reference_service_factory) -> None:
    service = reference_service_factory()
    process = psutil.Process(service.pid)
    before = process.memory_info().rss
    service.admin.set(memory_growth_mb_per_s=100)
    time.sleep(0.6)
    grown = process.memory_info().rss - before
    assert grown >= 30 * 1024 * 1024, f"RSS grew {grown / 2**20:.0f} MB in 0.6 s at 100 MB/s"
    assert service.admin.status()["ballast_mb"] >= 30
    assert service.admin.reset()["memory_growth_mb_per_s"] == 0
    assert service.admin.status()["ballast_mb"] == 0


def test_memory_limit_fault_reports_that_limit_and_stops_the_growth_at_it(reference_service_factory) -> None:
    service = reference_service_factory()
    service.admin.set(memory_limit_mb=48, memory_growth_mb_per_s=200)
    assert value(service.url, metrics.MEMORY_LIMIT_BYTES) == 48 * 1024 * 1024
    assert value(service.url, metrics.FAULT_ACTIVE, fault="memory_limit") == 1
    time.sleep(0.6)  # 120 MB at 200 MB/s, were it not for the limit
    assert service.admin.status()["ballast_mb"] == 48
    service.admin.reset()
    assert value(service.url, metrics.MEMORY_LIMIT_BYTES) == memory_limit_bytes()
    assert service.admin.status()["ballast_mb"] == 0


def test_service_down_fault_answers_503_everywhere_but_admin_and_counts_nothing(target) -> None:
    key = {"route": "/api/v1/status", "method": "GET", "status": "503"}
    before = value(target.url, metrics.REQUESTS_TOTAL, **key)
    target.admin.set(service_down=True)
    statuses = [httpx.get(target.url + path).status_code
                for path in ("/api/v1/status", "/health", "/health/live", "/health/ready", "/metrics")]
    assert statuses == [503] * 5
    assert target.admin.status()["active"]["service_down"] is True, "the admin endpoint keeps answering"
    target.admin.reset()
    assert httpx.get(target.url + "/api/v1/status").status_code == 200
    assert value(target.url, metrics.REQUESTS_TOTAL, **key) == before, "a down service counts nothing"


def test_unavailable_replicas_fault_reports_the_deployment_as_kube_state_metrics_would(target) -> None:
    labels = {"namespace": metrics.DEPLOYMENT_NAMESPACE, "deployment": metrics.DEPLOYMENT}
    assert (metrics.DEPLOYMENT_REPLICAS_UNAVAILABLE, frozenset(labels.items())) not in scrape(target.url)
    target.admin.set(unavailable_replicas=2)
    assert value(target.url, metrics.DEPLOYMENT_REPLICAS_UNAVAILABLE, **labels) == 2
    assert value(target.url, metrics.FAULT_ACTIVE, fault="rollout") == 1
    target.admin.reset()
    assert not any(name == metrics.DEPLOYMENT_REPLICAS_UNAVAILABLE for name, _ in scrape(target.url))


async def _open_schedule(url: str, every: float, seconds: float) -> list[tuple[float, float]]:
    """(sent, answered) of GETs started every ``every`` s whatever the answers do (one task each)."""
    out: list[tuple[float, float]] = []
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=None)) as client:
        async def one() -> None:
            sent = time.perf_counter()
            await client.get(url)
            out.append((sent, time.perf_counter()))

        start, tasks = time.perf_counter(), []
        for k in range(int(seconds / every)):
            await asyncio.sleep(max(0.0, start + k * every - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return out


def test_stall_fault_pauses_the_whole_service_and_every_request_arriving_meanwhile_waits_for_its_end(target) -> None:
    target.admin.set(stall_ms=300, stall_every_s=1)  # the first pause comes one second after the switch
    timings = asyncio.run(_open_schedule(target.url + "/health/live", 0.02, 2.6))
    slow = sorted((sent, answered) for sent, answered in timings if answered - sent > 0.05)
    pauses: list[list[tuple[float, float]]] = []
    for request in slow:  # requests that waited, grouped by the pause they waited for
        if pauses and request[0] - pauses[-1][-1][0] < 0.5:
            pauses[-1].append(request)
        else:
            pauses.append([request])
    assert len(pauses) == 2, f"expected two pauses in 2.6 s, got {[len(p) for p in pauses]}"
    for group in pauses:
        # those that arrived during the pause: sent before its end (its first answer); one sent after it and
        # slow for another reason (a busy machine) waited for no pause
        waited = [request for request in group if request[0] < min(answered for _, answered in group)]
        assert len(waited) >= 10, "requests keep arriving during a 300 ms pause (one every 20 ms)"
        ends = [answered for _, answered in waited]
        assert max(ends) - min(ends) < 0.05, "everyone that arrived during the pause is answered when it ends"
        assert 0.25 <= waited[0][1] - waited[0][0] <= 0.4, "the first to arrive waits the whole pause"
    fast = [answered - sent for sent, answered in timings if answered - sent <= 0.05]
    assert len(fast) > len(slow), "between the pauses the service answers at once"
    assert value(target.url, metrics.FAULT_ACTIVE, fault="stall") == 1 and target.admin.status()["stalls"] >= 2
    target.admin.set(stall_ms=0)
    assert max(timed_get(target.url + "/health/live")[1] for _ in range(30)) < 0.2


# ---------------------------------------------------------------------- fault switches at start


def test_the_stall_fault_is_read_from_its_two_variables() -> None:
    faults = Faults.from_env({"ARTEMIS_FAULT_STALL_MS": "200", "ARTEMIS_FAULT_STALL_EVERY_S": "5"})
    assert (faults.stall_ms, faults.stall_every_s, faults.active()["stall"]) == (200, 5, True)


def test_faults_given_at_start_are_in_force_from_the_first_request(reference_service_factory) -> None:
    service = reference_service_factory(faults={"error_ratio": 1, "dependencies_down": ["cache", "llm"]})
    assert httpx.get(service.url + "/api/v1/missions").status_code == 500
    assert service.admin.get()["dependencies_down"] == ["cache", "llm"]
    assert httpx.get(service.url + "/health/ready").status_code == 503


def test_bad_fault_variable_stops_the_start_with_the_variable_named(reference_service_factory) -> None:
    with pytest.raises(ServiceStartError) as err:
        reference_service_factory(faults={"error_ratio": "lots"}, timeout=10)
    assert "ARTEMIS_FAULT_ERROR_RATIO: expected a number from 0 to 1, got 'lots'" in str(err.value)


@pytest.mark.parametrize(("changes", "problem"), [
    ({"error_ratio": 1.5}, "error_ratio: expected a number from 0 to 1"),
    ({"latency_ms": -1}, "latency_ms: expected a number from 0"),
    ({"readiness_down": "maybe"}, "readiness_down: expected true or false"),
    ({"dependencies_down": ["kafka"]}, "dependencies_down: expected a list drawn from database, cache, llm"),
    ({"service_down": "maybe"}, "service_down: expected true or false"),
    ({"memory_limit_mb": -5}, "memory_limit_mb: expected a number from 0"),
    ({"unavailable_replicas": 1.5}, "unavailable_replicas: expected a whole number from 0 to 1000"),
    ({"explode": True}, "unknown fault field(s) explode"),
    ({"stall_ms": 2000, "stall_every_s": 1}, "stall_ms: a pause of 2000 ms must be shorter than its period"),
    ({"stall_every_s": -1}, "stall_every_s: expected a number from 0 to 3600"),
])
def test_fault_values_are_validated_with_the_field_named(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(FaultError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        Faults().merged(changes)


@pytest.mark.parametrize("options", [{"warmup_seconds": 1.0}, {"faults": {"slow_startup_seconds": 1.0}}],
                         ids=["warm-up", "slow-startup-fault"])
def test_warm_up_keeps_startup_and_readiness_503_until_it_is_over(reference_service_factory, options) -> None:
    service = reference_service_factory(wait_for="/health/live", **options)
    assert httpx.get(service.url + "/health").status_code == 503
    assert httpx.get(service.url + "/health/ready").status_code == 503
    assert httpx.get(service.url + "/health/live").status_code == 200
    deadline = time.monotonic() + 3
    while httpx.get(service.url + "/health").status_code != 200:
        assert time.monotonic() < deadline, "still initialising 3 s after a 1 s warm-up"
        time.sleep(0.05)
    assert httpx.get(service.url + "/health/ready").status_code == 200


# ---------------------------------------------------------------------- admin auth


def test_admin_endpoint_wants_the_bearer_token_and_counts_failures(target) -> None:
    url = target.url + "/admin/faults"
    before = value(target.url, metrics.AUTH_FAILURES_TOTAL, endpoint="/admin/faults")
    missing = httpx.put(url, json={"error_ratio": 1})
    wrong = httpx.put(url, json={"error_ratio": 1}, headers={"Authorization": "Bearer not-the-token"})
    right = httpx.get(url, headers={"Authorization": f"Bearer {target.admin_token}"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 403, 200)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert right.json()["faults"]["error_ratio"] == 0, "a refused request must not switch anything"
    assert value(target.url, metrics.AUTH_FAILURES_TOTAL, endpoint="/admin/faults") == before + 2


@pytest.mark.parametrize(("body", "status"), [(b"{oops", 400), (b'{"error_ratio": "x"}', 422), (b"[]", 422)])
def test_admin_rejects_bad_fault_bodies(target, body: bytes, status: int) -> None:
    response = httpx.put(target.url + "/admin/faults", content=body,
                         headers={"Authorization": f"Bearer {target.admin_token}"})
    assert response.status_code == status, response.text


# ---------------------------------------------------------------------- graceful drain


def test_sigterm_turns_readiness_503_keeps_serving_then_exits_after_the_drain(reference_service_factory) -> None:
    service = reference_service_factory(drain_seconds=1.0)
    assert service.process is not None
    sent = time.monotonic()
    service.process.signal(signal.SIGTERM)
    time.sleep(0.1)
    ready = httpx.get(service.url + "/health/ready")
    assert ready.status_code == 503 and "draining after SIGTERM" in ready.json()["reasons"]
    assert httpx.get(service.url + "/api/v1/status").status_code == 200, "requests are served during the drain"
    assert service.process.popen is not None
    code = service.process.popen.wait(5)
    assert code == 0
    assert 0.9 <= time.monotonic() - sent < 4, "exit should follow the 1 s drain"
    assert "draining for 1.0 s" in (service.log_path.read_text() if service.log_path else "")
