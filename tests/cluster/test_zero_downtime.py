"""Zero downtime: steady traffic through a rollout of real reference-service processes behind a balancer.

The emulated controller swaps real processes in rolling-update order (a new pod ready before an old one is
drained) or in a broken order (every old pod killed at once, the endpoint still routed to for a while); the
``zero_downtime`` fixture must pass the first and catch the second, with its figures in the verdict.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_kube_client import DEPLOYMENT

from pytest_artemis.probes.live import Answer, Samples
from pytest_artemis.rollout.checks import zero_downtime
from pytest_artemis.rollout.downtime import Downtime

SLOW_DEADLINE = copy.deepcopy(DEPLOYMENT)
SLOW_DEADLINE["spec"]["progressDeadlineSeconds"] = 60

SUITE = '''
import pytest

DEPLOYMENT = {deployment!r}


@pytest.mark.rollout
def test_a_rollout_under_steady_traffic(deploy, rollout, zero_downtime):
    deploy(objects=[DEPLOYMENT])
    rollout.rollouts.interval = 0.05
    rollout.wait("web", 30)
    with zero_downtime("web", url={url!r}, path="/api/v1/status", interval=0.02) as traffic:
        rollout.update("web", image="web:2")
        status = rollout.wait("web", 30)
    assert status.revision == 2
'''


def run_rollout(pytester: pytest.Pytester, kube_api: Any, url: str) -> tuple[pytest.RunResult, list[dict[str, Any]]]:
    pytester.makepyfile(test_suite=SUITE.format(deployment=SLOW_DEADLINE, url=url))
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--artemis-kubeconfig", str(kube_api.kubeconfig),
                                          f"--artemis-verdict={verdict}")
    document = json.loads(verdict.read_text(encoding="utf-8"))
    findings = [f for test in document["tests"] for f in test["findings"] if f["check"] == "rollout-zero-downtime"]
    return result, findings


def test_a_rolling_update_of_real_processes_loses_no_request(pytester: pytest.Pytester, kube_api: Any,
                                                           process_pods: Any) -> None:
    pods = process_pods("rolling")
    result, findings = run_rollout(pytester, kube_api, pods.balancer.url)
    result.assert_outcomes(passed=1)
    failed = next(f for f in findings if f["figure"] == "failed requests during rollout")
    assert failed["value"] == 0 and failed["status"] == "pass"
    assert failed["details"]["sent"] >= 20, "the traffic ran through the whole rollout"
    availability = next(f for f in findings if f["figure"] == "availability during rollout")
    assert availability["value"] == 100.0 and availability["status"] == "pass"


def test_a_rollout_that_kills_every_old_pod_at_once_is_caught(pytester: pytest.Pytester, kube_api: Any,
                                                             process_pods: Any) -> None:
    pods = process_pods("broken")
    result, findings = run_rollout(pytester, kube_api, pods.balancer.url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*zero downtime broken:*", ("*rollout-zero-downtime: rollout of deployment/web: "
                                 "* of * requests to http://127.0.0.1:*/api/v1/status failed*longest outage*")])
    failed = next(f for f in findings if f["figure"] == "failed requests during rollout")
    assert failed["status"] == "fail" and failed["value"] > 0 and failed["limit"] == 0
    assert pods.balancer.refused > 0 or any("Error" in r for r in failed["details"]["reasons"])


def samples(*outcomes: tuple[float, int | None]) -> Samples:
    return Samples("/", [(at, Answer(status, 0.01, "" if status else "ConnectError")) for at, status in outcomes])


def test_the_longest_outage_runs_from_the_first_failure_to_the_next_success() -> None:
    seen = Downtime.of("http://svc/", samples((0.0, 200), (0.1, None), (0.2, 503), (0.3, 200), (0.4, None)))
    assert (seen.sent, seen.failed, seen.availability) == (5, 3, 40.0)
    assert seen.longest_outage == pytest.approx(0.2)
    assert seen.reasons == {"ConnectError": 2, "HTTP 503": 1}


def test_too_few_requests_during_a_rollout_are_inconclusive_never_a_pass() -> None:
    seen = Downtime.of("http://svc/", samples(*((i / 10, 200) for i in range(5))))
    findings = list(zero_downtime(seen, deployment="web", namespace="ns", max_failed=0, availability=99.9))
    assert [f.status for f in findings] == ["inconclusive"]
    assert "only 5 requests" in findings[0].message


def test_availability_below_the_baseline_fails_even_within_the_failed_request_limit() -> None:
    seen = Downtime.of("http://svc/", samples(*((i / 10, 200 if i % 10 else None) for i in range(40))))
    findings = list(zero_downtime(seen, deployment="web", namespace="ns", max_failed=5, availability=99.9))
    assert [(f.figure, f.status) for f in findings] == [("failed requests during rollout", "pass"),
                                                         ("availability during rollout", "fail")]


def test_the_gating_rollout_suite_passes_against_the_emulated_cluster_running_real_processes(
        pytester: pytest.Pytester, kube_api: Any, process_pods: Any) -> None:
    pods = process_pods("rolling")
    kube_api.controller.script("registry.invalid/artemis:does-not-exist", "imagepull")
    suite = Path(__file__).resolve().parents[2] / "suites" / "test_rollout.py"
    pytester.makepyfile(test_rollout=suite.read_text(encoding="utf-8"))
    pytester.makefile(".ini", pytest="[pytest]\nartemis_rollout_timeout = 60\n")
    shutil.copytree(suite.parents[1] / "manifests" / "base", pytester.path / "manifests" / "base")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--artemis-kubeconfig={kube_api.kubeconfig}",
                                          f"--artemis-target={pods.balancer.url}", f"--artemis-verdict={verdict}",
                                          "-m", "cluster or rollout")  # as the pipeline's kind gate selects it
    result.assert_outcomes(passed=3)
    checks = {f["check"]: f for t in json.loads(verdict.read_text())["tests"] for f in t["findings"]}
    assert checks["rollout-fail-fast"]["value"] in ("ImagePullBackOff", "ErrImagePull")
    assert checks["rollout-rollback"]["status"] == "pass"
    assert checks["rollout-zero-downtime"]["status"] == "pass"


def test_in_production_zero_downtime_traffic_is_refused_with_one_line(pytester: pytest.Pytester, kube_api: Any) -> None:
    pytester.makepyfile(test_prod='''
import pytest

@pytest.mark.rollout
def test_traffic(zero_downtime):
    with zero_downtime("web", url="http://127.0.0.1:9"):
        pass
''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--artemis-kubeconfig={kube_api.kubeconfig}",
                                          "--artemis-environment", "production")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*zero-downtime traffic*production*--artemis-allow-production-load*"])
    assert "Traceback" not in result.stdout.str()
