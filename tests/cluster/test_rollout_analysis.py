"""Rollout analysis and the automatic rollback gate: Successful, Failed and Inconclusive (never a pass)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from test_kube_client import DEPLOYMENT

from pytest_artemis.baselines import load_baselines
from pytest_artemis.clients.kube import KubeClient
from pytest_artemis.errors import PrometheusQueryError
from pytest_artemis.rollout.analysis import Metric, analyze, default_metrics
from pytest_artemis.rollout.deployment import Rollouts
from pytest_artemis.rollout.gate import rollout_gate

ERRORS = Metric("error rate", 'artemis:error_rate_percent{job="web"}', "<=", 1.0, "%", failure_limit=1)


class ScriptedProm:
    """Answers ``query_value`` from a list of values (None: no data; an exception: raised)."""

    def __init__(self, values: list[Any]) -> None:
        self._values: Iterator[Any] = iter(values)
        self.queries: list[str] = []

    def query_value(self, expr: str, default: float | None = None) -> float | None:
        self.queries.append(expr)
        value = next(self._values)
        if isinstance(value, Exception):
            raise value
        return value


def no_sleep(_: float) -> None:
    pass


def test_an_analysis_whose_values_hold_is_successful_with_a_finding_per_measurement() -> None:
    result = analyze(ScriptedProm([0.1, 0.2, 0.0]), [ERRORS], count=3, sleep=no_sleep, deployment="web")
    assert result.phase == "Successful" and result.successful
    assert [f.status for f in result.findings] == ["pass"] * 3
    assert {f.check for f in result.findings} == {"rollout-analysis"}
    assert result.findings[0].value == 0.1 and result.findings[0].limit == 1.0 and result.findings[0].comparison == "<="


def test_an_analysis_fails_once_more_measurements_broke_the_condition_than_the_failure_limit() -> None:
    result = analyze(ScriptedProm([5.0, 0.1, 7.0, 0.1, 0.1]), [ERRORS], count=5, sleep=no_sleep)
    assert result.phase == "Failed"
    assert [f.status for f in result.findings] == ["fail", "pass", "fail"], "it stops at the failure limit"


@pytest.mark.parametrize("values", [[None, None, None], [math.nan, math.nan, 0.1],
                                    [PrometheusQueryError("q", "bad"), None, 0.2]],
                         ids=["no data", "NaN", "query errors"])
def test_an_analysis_without_enough_samples_is_inconclusive_never_a_pass(values: list[Any]) -> None:
    result = analyze(ScriptedProm(values), [ERRORS], count=3, sleep=no_sleep)
    assert result.phase == "Inconclusive" and not result.successful
    assert "inconclusive" in {f.status for f in result.findings}
    assert all(f.problem for f in result.findings if f.value is None)


def test_the_default_analysis_queries_the_artemis_recording_rules_against_the_baseline() -> None:
    baseline = load_baselines(None).for_("local")
    metrics = default_metrics(baseline, job="artemis")
    assert [m.query for m in metrics] == ['artemis:error_rate_percent{job="artemis"}',
                                          'artemis:response_time_p95_ms{job="artemis"}']
    assert metrics[0].limit == baseline.error_rate_percent and metrics[1].limit == baseline.p95_ms


@pytest.fixture
def web(kube_api: Any) -> Rollouts:
    kube = KubeClient.from_kubeconfig(kube_api.kubeconfig)
    kube.create_namespace("gate")
    kube.apply([DEPLOYMENT], "gate")
    rollouts = Rollouts(kube, "gate", interval=0.05)
    rollouts.wait("web", 10)
    return rollouts


def test_a_healthy_change_is_promoted_after_a_successful_analysis(web: Rollouts) -> None:
    result = rollout_gate(web, "web", image="web:2", timeout=10, prom=ScriptedProm([0.1] * 3), metrics=[ERRORS],
                          analysis_count=3, analysis_interval=0)
    assert result.outcome == "promoted" and result.passed, result.message
    assert {f.check for f in result.findings} == {"rollout-progress", "rollout-analysis"}


def test_a_crashing_change_is_rolled_back_and_the_previous_revision_serves_again(kube_api: Any, web: Rollouts) -> None:
    kube_api.controller.script("web:broken", "crashloop")
    result = rollout_gate(web, "web", image="web:broken", timeout=10)
    assert result.outcome == "rolled back" and not result.passed
    assert result.rolled_back_to == 1 and result.rollback_serves, result.message
    by_check = {f.check: f for f in result.findings}
    assert by_check["rollout-fail-fast"].value == "CrashLoopBackOff" and by_check["rollout-fail-fast"].status == "fail"
    assert by_check["rollout-rollback"].status == "pass"
    assert {p.spec.containers[0].image for p in web.new_pods("web")} == {"web:1"}


def test_a_change_that_fails_its_analysis_is_rolled_back(web: Rollouts) -> None:
    result = rollout_gate(web, "web", image="web:2", timeout=10, prom=ScriptedProm([9.0, 9.0]), metrics=[ERRORS],
                          analysis_count=3, analysis_interval=0)
    assert result.outcome == "rolled back" and result.analysis is not None and result.analysis.phase == "Failed"
    assert result.rollback_serves and web.history("web")[-1].images == ("web:1",)


def test_a_stuck_change_is_rolled_back_after_its_progress_deadline(kube_api: Any, web: Rollouts) -> None:
    kube_api.controller.script("web:stuck", "stuck")
    result = rollout_gate(web, "web", image="web:stuck", timeout=10)
    assert result.outcome == "rolled back" and result.rollback_serves
    assert any(f.check == "rollout-progress" and f.value == "ProgressDeadlineExceeded" for f in result.findings)
