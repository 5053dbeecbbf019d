"""The probes suite against the reference service and against faulty variants: each fault is caught, and the
failure names the probe, the manifest file and line, and the measured figure.

The variants (``variant_service.py``) wrap the unchanged reference service: a readiness probe slowed by a
latency fault of its own (2.3 s against the kit's 2 s timeoutSeconds; the API stays fast), and a liveness
probe that follows the dependencies. The slow start is the reference service's own ``slow_startup_seconds``
fault, checked against ``data/tight-probes.yaml`` (a 2 s startup window) so it fails in seconds; a service
that does not drain is the reference service with ``drain_seconds`` 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from probes_support import DATA, KIT_DEPLOYMENT, SuiteRun, line_of

from pytest_artemis.services.target.control import Target, start_reference_service

RunProbes = Callable[..., SuiteRun]
TIGHT = DATA / "tight-probes.yaml"
KIT_FILE = "manifests/base/deployment.yaml"
IDLE = "test_each_probe_answers_within_its_own_timeout"
UNDER_LOAD = "test_probes_answer_within_their_timeouts_while_a_load_scenario_runs"
STARTUP = "test_startup_completes_within_the_startup_probes_window"
READINESS = "test_readiness_goes_503_when_a_dependency_is_down"
LIVENESS = "test_liveness_stays_200_when_a_dependency_is_down"
SIGTERM = "test_sigterm_fails_readiness_before_exit_and_in_flight_requests_complete_within_the_grace_period"


def kit_line(key: str) -> int:
    return line_of(KIT_DEPLOYMENT, f"{key}:", after="- name: api")


def test_the_suite_passes_against_the_reference_service_and_records_each_figure_with_its_manifest_line(
        run_probes: RunProbes) -> None:
    run = run_probes()
    run.result.assert_outcomes(passed=12)
    for kind in ("startup", "liveness", "readiness"):
        latency = run.measurement(f"{kind}Probe latency")
        assert latency["passed"] is True and latency["limit"] == 2000.0 and 0 < latency["value"] < 2000, latency
        assert latency["details"]["manifest"].endswith(f"{KIT_FILE}:{kit_line(f'{kind}Probe')}"), latency
        under_load = run.measurement(f"{kind}Probe p99 under load")
        assert under_load["passed"] is True and under_load["details"]["samples"] >= 5, under_load
    startup = run.measurement("startupProbe startup time")
    assert startup["passed"] is True and startup["limit"] == 120 and startup["value"] < 120, startup
    assert run.measurement("readinessProbe status, database down")["value"] == 503
    assert run.measurement("livenessProbe status, database down")["value"] == 200
    shutdown = run.measurement("shutdown time")
    assert shutdown["passed"] is True and shutdown["limit"] == 45 and 15 <= shutdown["value"] < 45, shutdown
    assert shutdown["details"]["pre_stop_seconds"] == 10.0 and 5 <= shutdown["details"]["sigterm_to_exit_seconds"]
    assert run.measurement("in-flight requests completed after SIGTERM")["passed"] is True
    assert run.measurement("readinessProbe failing after SIGTERM")["passed"] is True
    assert run.verdict["verdict"] == "GO"
    assert "ARTEMIS MISSION STATUS" in run.output and "readinessProbe p99 under l" in run.output


def test_a_readiness_probe_slower_than_its_timeout_is_caught_idle_and_under_load_with_file_line_and_latency(
        run_probes: RunProbes) -> None:
    slow = {"ARTEMIS_VARIANT_SLOW_PATHS": "/health/ready", "ARTEMIS_VARIANT_PROBE_LATENCY_MS": "2300"}
    run = run_probes(tests=[IDLE, UNDER_LOAD], variant_env=slow)
    run.result.assert_outcomes(passed=2, failed=2)
    assert run.outcome(f"{IDLE}[readiness]") == "failed"
    assert run.outcome(f"{IDLE}[liveness]") == "passed"
    probe = f"readinessProbe GET /health/ready (*{KIT_FILE}:{kit_line('readinessProbe')})"
    idle = f"*{probe}: answered 200 in 2,[3-9]?? ms > timeoutSeconds 2 s*"
    loaded = f"*{probe}: under load (10 users, * probe*) p99 2,[3-9]?? ms, 0 failed (limit: < timeoutSeconds 2 s)*"
    run.result.stdout.fnmatch_lines([idle, loaded])
    latency = run.measurement("readinessProbe latency")
    assert latency["passed"] is False and 2300 <= latency["value"] < 4000, latency
    assert run.measurement("readinessProbe p99 under load")["passed"] is False
    assert run.measurement("livenessProbe p99 under load")["passed"] is True
    assert run.verdict["verdict"] == "NO-GO"


@pytest.mark.parametrize(("slow_start", "outcome"), [(0, "passed"), (3.5, "failed")], ids=["prompt", "slow-start"])
def test_a_slow_start_fails_the_startup_probes_window_with_file_line_and_startup_time(
        run_probes: RunProbes, slow_start: float, outcome: str) -> None:
    run = run_probes(tests=[STARTUP], manifests=TIGHT,
                     reference_options={"faults": {"slow_startup_seconds": slow_start}} if slow_start else {})
    assert run.outcome(STARTUP) == outcome
    where = f"tight-probes.yaml:{line_of(TIGHT, 'startupProbe:')}"
    figure = run.measurement("startupProbe startup time")
    assert figure["limit"] == 2 and figure["details"]["manifest"] == where, figure
    if not slow_start:
        assert figure["passed"] is True and figure["value"] < 2, figure
        return
    assert figure["passed"] is False and 3.5 <= figure["value"] < 8, figure  # slow start 3.5 s; a busy machine adds
    run.result.stdout.fnmatch_lines([
        (f"*startupProbe GET /health ({where}): startup took * s from process start (limit initialDelaySeconds 0 "
         "+ failureThreshold 2 x periodSeconds 1 = 2 s): the kubelet kills the container before it has started*")])


def test_a_liveness_probe_that_follows_a_dependency_is_reported_with_file_line_and_status(
        run_probes: RunProbes) -> None:
    run = run_probes(tests=[READINESS, LIVENESS], variant_env={"ARTEMIS_VARIANT_LIVENESS_FOLLOWS_DEPENDENCIES": "1"})
    run.result.assert_outcomes(passed=3, failed=3)  # readiness goes 503 as it should; liveness follows it
    probe = f"livenessProbe GET /health/live (*{KIT_FILE}:{kit_line('livenessProbe')})"
    run.result.stdout.fnmatch_lines([
        (f"*{probe}: answered 503 in * ms with dependency database down (expected 200): liveness follows a "
         "dependency; in an outage of database the kubelet restarts every pod after failureThreshold 3 x "
         "periodSeconds 10 = 30 s*")])
    figure = run.measurement("livenessProbe status, cache down")
    assert (figure["passed"], figure["value"], figure["check"]) == (False, 503, "probe-liveness-follows-dependency")
    assert run.measurement("readinessProbe status, cache down")["passed"] is True


def test_a_service_that_does_not_drain_after_sigterm_is_caught_with_the_readiness_probes_line(
        run_probes: RunProbes) -> None:
    run = run_probes(tests=[SIGTERM], reference_options={"drain_seconds": 0})
    run.result.assert_outcomes(failed=1)
    probe = f"readinessProbe GET /health/ready (*{KIT_FILE}:{kit_line('readinessProbe')})"
    run.result.stdout.fnmatch_lines([
        (f"*{probe}: never failed after SIGTERM; the process exited * s after SIGTERM: the endpoint is not taken "
         "out of rotation before the process goes*")])
    assert run.measurement("in-flight requests completed after SIGTERM")["passed"] is True  # uvicorn finishes them
    assert run.measurement("readinessProbe failing after SIGTERM")["value"] is None


def test_a_drain_longer_than_the_grace_period_is_caught_with_the_grace_periods_line_and_shutdown_time(
        run_probes: RunProbes) -> None:
    run = run_probes(tests=[SIGTERM], manifests=TIGHT)  # preStop sleep 2 s + drain 2 s > grace 3 s
    run.result.assert_outcomes(failed=1)
    pre_stop = f"tight-probes.yaml:{line_of(TIGHT, 'preStop:')}"
    grace = f"tight-probes.yaml:{line_of(TIGHT, 'terminationGracePeriodSeconds')}"
    run.result.stdout.fnmatch_lines([
        (f"*Deployment/tight: preStop exec /bin/sh -c sleep 2 ({pre_stop}) + SIGTERM to exit * s = * s (limit "
         f"terminationGracePeriodSeconds 3 s, {grace}): the kubelet SIGKILLs the container before it has drained*")])
    figure = run.measurement("shutdown time")
    assert figure["passed"] is False and figure["limit"] == 3 and 4 <= figure["value"] < 10, figure
    assert run.measurement("readinessProbe failing after SIGTERM")["passed"] is True


@pytest.fixture
def outside_service(tmp_path: Path) -> Iterator[Target]:
    """The reference service started outside the session, reached by URL only (no admin switches)."""
    service = start_reference_service(tmp_path / "logs", base_env=os.environ, name="outside")
    yield service
    service.stop()


def test_on_a_target_without_admin_switches_the_fault_tests_skip_with_one_line_and_the_probes_still_run(
        run_probes: RunProbes, outside_service: Target) -> None:
    run = run_probes("--artemis-load-path=/api/v1/missions", target=outside_service.url)
    run.result.assert_outcomes(passed=4, skipped=8)  # three idle probes and the probes under load
    run.result.stdout.fnmatch_lines([("SKIPPED [[]6[]] *: fault switches need the managed reference service (no "
                                      "--artemis-target)")])
    run.result.stdout.fnmatch_lines([("SKIPPED [[]2[]] *: starting and stopping a service of its own needs the "
                                      "bundled reference service (no --artemis-target)")])
    assert run.measurement("readinessProbe p99 under load")["passed"] is True


def test_without_a_deployment_in_the_manifests_the_probe_tests_skip_with_one_line(run_probes: RunProbes) -> None:
    run = run_probes(manifests=DATA / "no-deployment.yaml")
    run.result.assert_outcomes(skipped=12)
    reason = ("no Deployment in no-deployment.yaml (read no-deployment.yaml): no probe spec to check the target "
              "against; name the manifests with --artemis-manifests PATH")
    skipped = [line for line in run.output.splitlines() if line.startswith("SKIPPED [")]
    assert skipped and all(line.endswith(f": {reason}") for line in skipped), skipped
    assert sum(int(line.split("[", 1)[1].split("]", 1)[0]) for line in skipped) == 12, skipped
