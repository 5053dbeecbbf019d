"""Allure, complete: labels from the result model, a step per judged figure, categories in the military voice
matched on the typed outcome (not on message text), the environment page, trends, and the evidence of a failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SUITE = """
import pytest
from pytest_artemis.errors import RunInvalidError, TargetUnreachableError

@pytest.mark.load
def test_slo_breach(artemis_record):
    artemis_record.measurement("p95_ms", 812.0, "ms", limit=500, comparison="<=", passed=False, scenario="load",
                               check="load-p95")
    artemis_record.measurement("error_rate_percent", 0.1, "%", limit=1, comparison="<=", passed=True,
                               scenario="load", check="load-error-rate")
    raise AssertionError("p95 812 ms > limit 500 ms")

@pytest.mark.load
def test_invalid_exercise():
    raise RunInvalidError("worker 2 lost")

@pytest.mark.probes
def test_comms_down():
    raise TargetUnreachableError("target http://127.0.0.1:9 does not answer")

@pytest.mark.probes
def test_friendly_fire():
    assert 1 == 2

@pytest.mark.probes
def test_holds(artemis_record):
    artemis_record.measurement("latency", 3.0, "ms", limit=1000, comparison="<=", passed=True)
"""


def _results(directory: Path) -> dict[str, dict]:
    return {r["name"]: r for r in (json.loads(p.read_text()) for p in directory.glob("*-result.json"))}


def _categories_of(results: dict[str, dict], categories: list[dict]) -> dict[str, str]:
    out = {}
    for name, result in results.items():
        trace = (result.get("statusDetails") or {}).get("trace") or ""
        for category in categories:
            if result["status"] in category["matchedStatuses"] and re.fullmatch(category["traceRegex"], trace):
                out[name] = category["name"]
                break
    return out


@pytest.fixture
def allure_run(pytester: pytest.Pytester) -> tuple[pytest.Pytester, dict[str, dict]]:
    pytester.makepyfile(test_mission=SUITE)
    pytester.runpytest("--alluredir", "allure", "-p", "no:cacheprovider")
    return pytester, _results(pytester.path / "allure")


def test_labels_come_from_the_family_the_scenario_the_object_and_the_markers(allure_run) -> None:
    _, results = allure_run
    labels = {(label["name"], label["value"]) for label in results["test_slo_breach"]["labels"]}
    assert {("epic", "Load Scenarios (Field Exercises)"), ("feature", "scenario load"), ("story", "scenario load"),
            ("tag", "load"), ("tag", "load-p95"), ("severity", "critical")} <= labels
    probe = {(label["name"], label["value"]) for label in results["test_holds"]["labels"]}
    assert ("epic", "Probes (Vital Signs)") in probe


def test_each_judged_figure_is_a_step_with_its_verdict(allure_run) -> None:
    _, results = allure_run
    steps = {s["name"]: s["status"] for s in results["test_slo_breach"]["steps"]}
    assert steps == {"load p95_ms: 812 ms (<= 500 ms): fail": "failed",
                     "load error_rate_percent: 0.1% (<= 1%): pass": "passed"}


def test_categories_speak_the_military_voice_and_match_the_typed_outcome(allure_run) -> None:
    pytester, results = allure_run
    categories = json.loads((pytester.path / "allure" / "categories.json").read_text())
    assert [c["name"] for c in categories] == [
        "Mission Failure: SLO breach", "Threat Detected: policy or security finding",
        "Comms Down: infrastructure unreachable", "Invalid Exercise: generator saturated or no data",
        "Friendly Fire: test defect"]
    assert not any("messageRegex" in c for c in categories), "never matched on message text"
    assert _categories_of(results, categories) == {
        "test_slo_breach": "Mission Failure: SLO breach",
        "test_invalid_exercise": "Invalid Exercise: generator saturated or no data",
        "test_comms_down": "Comms Down: infrastructure unreachable",
        "test_friendly_fire": "Friendly Fire: test defect"}


def test_a_failed_manifest_is_a_threat_with_its_rendered_object_attached(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", deploy="apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
                      "  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n"
                      "    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
                      "      - {name: web, image: 'nginx:latest'}\n")
    pytester.runpytest("--artemis-manifests", "deploy.yaml", "--alluredir", "allure", "-p", "no:cacheprovider")
    directory = pytester.path / "allure"
    results = _results(directory)
    categories = json.loads((directory / "categories.json").read_text())
    [name] = [n for n, r in results.items() if r["status"] == "failed"]
    assert _categories_of(results, categories)[name] == "Threat Detected: policy or security finding"
    [rendered] = [a for a in results[name]["attachments"] if a["name"] == "rendered-manifest.yaml"]
    assert "image: nginx:latest" in (directory / rendered["source"]).read_text()
    assert {a["name"] for a in results[name]["attachments"]} >= {"findings", "results"}


def test_the_environment_page_carries_commit_target_versions_profile_and_generator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    pytester.runpytest("--alluredir", "allure", "--artemis-target", "http://ops:s3cret@127.0.0.1:9",
                       "--artemis-profile", "smoke", "-p", "no:cacheprovider")
    env = (pytester.path / "allure" / "environment.properties").read_text()
    for key in ("Mission.Verdict=", "Commit=", "Target=", "Kubernetes.Version=", "Profile=smoke",
                "Environment=local", "Generator.CPUs="):
        assert key in env, key
    assert "s3cret" not in env


def test_the_history_store_becomes_figure_trends_in_allure_history(pytester: pytest.Pytester) -> None:
    history = pytester.path / "history"
    history.mkdir()
    runs = [{"time": 1000.0 + i, "green": i != 1, "p95_ms": 10.0 + i, "rps": 90.0, "plan": "x"} for i in range(3)]
    (history / "load-smoke-local.json").write_text(json.dumps({"runs": runs}))
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    pytester.runpytest("--alluredir", "allure", "--artemis-history", "history", "-p", "no:cacheprovider")
    trends = json.loads((pytester.path / "allure" / "history" / "artemis-trends.json").read_text())
    assert [r["p95_ms"] for r in trends["load-smoke-local"]] == [10.0, 11.0, 12.0]
    trend = json.loads((pytester.path / "allure" / "history" / "history-trend.json").read_text())
    assert sum(t["data"]["failed"] for t in trend) == 1 and sum(t["data"]["passed"] for t in trend) == 2
