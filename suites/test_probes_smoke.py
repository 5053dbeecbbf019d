"""Probes gate (Vital Signs): the running target keeps the promises of its own Deployment's probes.

The probe spec comes from the manifests (``--artemis-manifests``, else the kit's ``manifests/base``, rendered
with kustomize): each probe's path and port, ``timeoutSeconds``, ``periodSeconds``, ``failureThreshold``,
``initialDelaySeconds``, and the pod's ``terminationGracePeriodSeconds`` and preStop sleep. Against them:

* every httpGet probe answers 2xx/3xx (the kubelet's success) within its own ``timeoutSeconds``, idle and
  while a smoke-sized load scenario runs (p99 under load; a probe that times out under load restarts pods);
* startup completes within ``initialDelaySeconds + failureThreshold x periodSeconds`` of the startup probe,
  measured from process start on a fresh reference service;
* readiness fails (503) while a dependency is down, and liveness stays 200 (a liveness probe that follows a
  dependency restarts every pod in an outage);
* after SIGTERM, readiness fails before the process exits, in-flight requests complete, and preStop sleep +
  drain fit in ``terminationGracePeriodSeconds``.

Failures name the probe, the manifest file and line, and the measured figure; every figure is recorded (MISSION
STATUS, verdict). Runs against the bundled reference service by default, or any service with
``--artemis-target URL`` (the tests that switch faults or start a service of their own then skip with one
line). A target URL may carry credentials and a query (``https://user:pass@host/?token=x``): every probe sends
them as an ``Authorization: Basic`` header and keeps the query; messages and tracebacks show it redacted.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_artemis.load.scenarios import parse_params
from pytest_artemis.probes.live import Answer, Probe, ProbeSampler, succeeded, wait_until_ok, watch_shutdown
from pytest_artemis.probes.spec import KINDS, PodProbes, ProbeSpec
from pytest_artemis.services.prometheus import JOB
from pytest_artemis.services.target import metrics
from pytest_artemis.services.target.faults import DEPENDENCIES

pytestmark = pytest.mark.probes

#: Probes sent per probe for the idle check (each on a new connection, as the kubelet sends them).
SAMPLES = 5
#: The load that runs under the probes: the smoke profile's load scenario (--artemis-load-param overrides it).
SMOKE_LOAD = {"users": 10, "requests": 30, "rate": 10}
#: How long each in-flight request takes when SIGTERM arrives (the latency fault of the reference service).
IN_FLIGHT_MS = 800
#: What the reference service drains after SIGTERM when the manifests do not set ARTEMIS_DRAIN_SECONDS.
SERVICE_DRAIN_SECONDS = 5.0


@pytest.fixture(scope="module")
def probe(target_url: str) -> Probe:
    """Probes of the session's target."""
    return Probe(target_url)


def needs_admin(target: object) -> None:
    if not getattr(target, "managed", False) or getattr(target, "admin", None) is None:
        pytest.skip("fault switches need the managed reference service (no --artemis-target)")


def needs_reference_service(target: object) -> None:
    if not getattr(target, "managed", False) or getattr(target, "process", None) is None:
        pytest.skip("starting and stopping a service of its own needs the bundled reference service "
                    "(no --artemis-target)")


def http_probe(probes: PodProbes, kind: str) -> ProbeSpec:
    spec = probes.probe(kind)
    if spec is None:
        pytest.skip(f"{probes.describe()} declares no {KINDS[kind]}: nothing to check")
    if not spec.http:
        pytest.skip(f"{spec.label()} is not an httpGet probe: only httpGet probes are checked against the target")
    return spec


def client_timeout(spec: ProbeSpec) -> float:
    """Wait past the probe's own timeout, so a too-slow answer is measured instead of cut off."""
    return max(2.0 * spec.timeout_seconds, spec.timeout_seconds + 1.0)


def record(artemis_record: Any, spec: ProbeSpec, name: str, value: float | None, unit: str, *,
           limit: float | None, comparison: str, passed: bool, check: str, message: str, **details: Any) -> None:
    artemis_record.measurement(f"{spec.key} {name}", value, unit, limit=limit, comparison=comparison, passed=passed,
                               check=check, message=message, path=spec.path, port=spec.port_text(),
                               manifest=str(spec.location), probe=spec.key, **details)


@pytest.mark.smoke
@pytest.mark.parametrize("artemis_probe_spec", list(KINDS), indirect=True)
def test_each_probe_answers_within_its_own_timeout(probe: Probe, artemis_probe_spec: ProbeSpec,
                                                   artemis_record: Any) -> None:
    spec = artemis_probe_spec
    answers = []
    for _ in range(SAMPLES):
        answers.append(probe.get(spec.path, client_timeout(spec)))
        if not answers[-1].ok_within(spec.timeout_seconds):
            break  # one failed probe is enough to show; do not wait for more
    worst = max(answers, key=lambda a: (not succeeded(a.status), a.seconds))
    passed = all(a.ok_within(spec.timeout_seconds) for a in answers)
    message = (f"{spec.label()}: slowest of {len(answers)} answered {worst.shown()} "
               f"(limit: 2xx/3xx within timeoutSeconds {spec.timeout_seconds} s)")
    record(artemis_record, spec, "latency", max(a.ms for a in answers), "ms",
           limit=float(spec.timeout_seconds * 1000), comparison="<=", passed=passed, check="probe-timeout",
           message=message, statuses=[a.status for a in answers])
    assert succeeded(worst.status), (f"{spec.label()}: expected 200-399 within timeoutSeconds "
                                     f"{spec.timeout_seconds} s, got {worst.shown()}: {worst.body}")
    assert passed, (f"{spec.label()}: answered {worst.shown()} > timeoutSeconds {spec.timeout_seconds} s: "
                    f"the kubelet counts it as a failed probe")


def _smoke_load(artemis_load: Any) -> Any:
    given = parse_params(list(artemis_load.config.load_param))
    return artemis_load.plan("load", **{k: v for k, v in SMOKE_LOAD.items() if k not in given})


def test_probes_answer_within_their_timeouts_while_a_load_scenario_runs(
        artemis_traffic_slot: None, artemis_load: Any, artemis_probes: PodProbes, probe: Probe, baseline: Any,
        artemis_record: Any) -> None:
    specs = [s for s in artemis_probes.probes.values() if s.http]
    if not specs:
        pytest.skip(f"{artemis_probes.describe()} declares no httpGet probe: nothing to check under load")
    plan = _smoke_load(artemis_load)
    with ProbeSampler(probe, {s.kind: (s.path, client_timeout(s)) for s in specs}) as sampler:
        exercise = artemis_load.run(plan, baseline)
    result = exercise.result
    problems = []
    for spec in specs:
        samples = sampler.samples[spec.kind]
        if result is not None:
            samples = samples.between(result.started, result.ended)
        p99, failed = samples.p99(), samples.failed()
        count = len(samples.answers)
        users = f"{plan.max_users} users, {count} probe{'' if count == 1 else 's'}"
        ok = p99 is not None and p99 < spec.timeout_seconds and not failed
        shown = "no probe answered" if p99 is None else f"p99 {p99 * 1000:,.0f} ms"
        message = (f"{spec.label()}: under load ({users}) {shown}, {len(failed)} failed "
                   f"(limit: < timeoutSeconds {spec.timeout_seconds} s)")
        record(artemis_record, spec, "p99 under load", None if p99 is None else round(p99 * 1000, 2), "ms",
               limit=float(spec.timeout_seconds * 1000), comparison="<", passed=ok, check="probe-timeout-under-load",
               message=message, samples=len(samples.answers), failed=len(failed), scenario_users=plan.max_users)
        if not ok:
            first = f"; first failure: {failed[0].shown()}" if failed else ""
            problems.append(f"{message}: a probe that times out under load gets pods restarted or pulled out of "
                            f"rotation{first}")
    assert not problems, "\n".join(problems)


def test_startup_completes_within_the_startup_probes_window(
        artemis_target: Any, artemis_probes: PodProbes, reference_service_factory: Any,
        artemis_reference_options: dict[str, Any], artemis_record: Any) -> None:
    needs_reference_service(artemis_target)
    spec = artemis_probes.probe("startup") or artemis_probes.probe("liveness")
    if spec is None:
        pytest.skip(f"{artemis_probes.describe()} declares neither a startupProbe nor a livenessProbe: nothing "
                    "bounds the start")
    spec = http_probe(artemis_probes, spec.kind)
    window = spec.window_seconds
    limit = (f"initialDelaySeconds {spec.initial_delay_seconds} + failureThreshold {spec.failure_threshold} x "
             f"periodSeconds {spec.period_seconds} = {window} s")
    began = time.monotonic()
    service = reference_service_factory(**{**artemis_reference_options, "wait_for": "/health/live",
                                           "name": "startup"})
    answer, polls = wait_until_ok(Probe(service.url), spec.path, began + window + min(window, 10),
                                  timeout=spec.timeout_seconds)
    took = time.monotonic() - began
    started = answer is not None and succeeded(answer.status)
    passed = started and took <= window
    shown = f"startup took {took:.2f} s" if started else \
        f"not started after {took:.2f} s (last answer {answer.shown() if answer else 'none'})"
    message = f"{spec.label()}: {shown} from process start (limit {limit})"
    record(artemis_record, spec, "startup time", round(took, 3), "s", limit=window, comparison="<=", passed=passed,
           check="probe-startup-window", message=message, polls=polls, started=started)
    assert passed, f"{message}: the kubelet kills the container before it has started"


def probe_with_dependency_down(target: Any, probe: Probe, spec: ProbeSpec, dependency: str) -> Answer:
    """The probe's answer while the reference service reports ``dependency`` down (switched back on after)."""
    needs_admin(target)
    target.admin.set(dependencies_down=[dependency])
    try:
        return probe.get(spec.path, client_timeout(spec))
    finally:
        target.admin.reset()


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_readiness_goes_503_when_a_dependency_is_down(target: Any, probe: Probe, artemis_probes: PodProbes,
                                                      dependency: str, artemis_record: Any) -> None:
    spec = http_probe(artemis_probes, "readiness")
    answer = probe_with_dependency_down(target, probe, spec, dependency)
    recovered = probe.get(spec.path, client_timeout(spec))
    failing = answer.status is not None and not succeeded(answer.status)
    message = f"{spec.label()}: answered {answer.shown()} with dependency {dependency} down (expected 503)"
    record(artemis_record, spec, f"status, {dependency} down", answer.status, "", limit=503, comparison="==",
           passed=failing, check="probe-readiness-dependency", message=message, dependency=dependency)
    assert failing, f"{message}: the Service keeps sending it traffic it cannot serve"
    assert succeeded(recovered.status), (f"{spec.label()}: still {recovered.shown()} after dependency {dependency} "
                                         "came back: readiness does not recover")


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_liveness_stays_200_when_a_dependency_is_down(target: Any, probe: Probe, artemis_probes: PodProbes,
                                                      dependency: str, artemis_record: Any) -> None:
    spec = http_probe(artemis_probes, "liveness")
    answer = probe_with_dependency_down(target, probe, spec, dependency)
    passed = answer.ok_within(spec.timeout_seconds)
    message = f"{spec.label()}: answered {answer.shown()} with dependency {dependency} down (expected 200)"
    record(artemis_record, spec, f"status, {dependency} down", answer.status, "", limit=200, comparison="==",
           passed=passed, check="probe-liveness-follows-dependency", message=message, dependency=dependency)
    assert passed, (f"{message}: liveness follows a dependency; in an outage of {dependency} the kubelet restarts "
                    f"every pod after failureThreshold {spec.failure_threshold} x periodSeconds "
                    f"{spec.period_seconds} = {spec.failure_threshold * spec.period_seconds} s")


def _drain_seconds(probes: PodProbes) -> float:
    raw = probes.env.get("ARTEMIS_DRAIN_SECONDS", "")
    try:
        return float(raw) if raw.strip() else SERVICE_DRAIN_SECONDS
    except ValueError:
        return SERVICE_DRAIN_SECONDS


def test_sigterm_fails_readiness_before_exit_and_in_flight_requests_complete_within_the_grace_period(
        artemis_target: Any, artemis_probes: PodProbes, reference_service_factory: Any,
        artemis_reference_options: dict[str, Any], artemis_record: Any) -> None:
    needs_reference_service(artemis_target)
    spec = http_probe(artemis_probes, "readiness")
    grace, sleep = artemis_probes.termination_grace_seconds, artemis_probes.pre_stop_sleep_seconds
    options = {"drain_seconds": _drain_seconds(artemis_probes), **artemis_reference_options, "name": "sigterm"}
    service = reference_service_factory(**options)
    service.admin.set(latency_ms=IN_FLIGHT_MS)
    shutdown = watch_shutdown(Probe(service.url), spec.path, send_signal=service.process.signal,
                              returncode=lambda: service.process.returncode, in_flight_path="/api/v1/missions",
                              limit=max(1.0, grace - sleep) + 5.0)
    exited = shutdown.exited_at
    failed_at = shutdown.readiness_failed_at
    exit_text = f"exited {exited:.2f} s after SIGTERM" if exited is not None else "had not exited"
    problems = []

    ready_ok = failed_at is not None and (exited is None or failed_at < exited)
    ready_text = (f"{spec.label()}: failed ({shutdown.readiness_answer.shown()}) {failed_at * 1000:,.0f} ms after "
                  f"SIGTERM; the process {exit_text}" if failed_at is not None and shutdown.readiness_answer else
                  f"{spec.label()}: never failed after SIGTERM; the process {exit_text}")
    record(artemis_record, spec, "failing after SIGTERM", None if failed_at is None else round(failed_at * 1000, 1),
           "ms", limit=None if exited is None else round(exited * 1000, 1), comparison="<", passed=ready_ok,
           check="probe-readiness-drain", message=ready_text)
    if not ready_ok:
        problems.append(f"{ready_text}: the endpoint is not taken out of rotation before the process goes")

    lost = shutdown.in_flight_failed()
    flight_text = (f"{len(shutdown.in_flight) - len(lost)} of {len(shutdown.in_flight)} requests in flight at "
                   f"SIGTERM completed" + (f"; first failure: {lost[0].shown()}" if lost else ""))
    artemis_record.measurement("in-flight requests completed after SIGTERM", len(shutdown.in_flight) - len(lost),
                               "requests", limit=len(shutdown.in_flight), comparison=">=", passed=not lost,
                               check="probe-drain-in-flight", message=flight_text, workload=artemis_probes.workload)
    if lost:
        problems.append(f"{artemis_probes.describe()}: {flight_text}")

    where = (f"preStop {artemis_probes.pre_stop} ({artemis_probes.pre_stop_location}) + " if sleep else
             "no preStop sleep + ")
    total = None if exited is None else sleep + exited
    within = total is not None and total <= grace
    took = f"{exited:.2f} s" if exited is not None else "never"
    whole = f"{total:.2f} s" if total is not None else "no exit"
    grace_text = (f"{artemis_probes.workload}: {where}SIGTERM to exit {took} = {whole} (limit "
                  f"terminationGracePeriodSeconds {grace} s, {artemis_probes.grace_location})")
    artemis_record.measurement("shutdown time", None if total is None else round(total, 3), "s", limit=grace,
                               comparison="<=", passed=within, check="probe-grace-period", message=grace_text,
                               pre_stop_seconds=sleep, sigterm_to_exit_seconds=exited, exit_code=shutdown.exit_code,
                               manifest=str(artemis_probes.grace_location))
    if not within:
        problems.append(f"{grace_text}: the kubelet SIGKILLs the container before it has drained")
    assert not problems, "\n".join(problems)


@pytest.mark.smoke
def test_prometheus_scrapes_the_target(prom) -> None:
    prom.wait_for(f'max(up{{job="{JOB}"}})', lambda v: v == 1, timeout=15,
                  description=f'up{{job="{JOB}"}} == 1 (the target is scraped)')


def test_request_counter_counts_probe_requests_in_prometheus(prom, probe: Probe) -> None:
    expr = f'sum({metrics.REQUESTS_TOTAL}{{job="{JOB}", route="/health/live"}})'
    before = prom.query_value(expr, default=0.0) or 0.0
    for _ in range(5):
        assert succeeded(probe.get("/health/live").status)
    prom.wait_for(expr, lambda v: v is not None and v >= before + 5, timeout=15,
                  description=f"{metrics.REQUESTS_TOTAL} to grow by 5 from {before:g}")
