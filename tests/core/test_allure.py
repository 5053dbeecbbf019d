"""Allure: each test carries its gate as feature and its measurements; the environment page carries the verdict."""

from __future__ import annotations

import json

import pytest


def test_allure_results_carry_the_gate_measurements_and_the_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.spike
        def test_spike(artemis_record):
            artemis_record.measurement("p95", 230.5, "ms", limit=1000, comparison="<", passed=True)
        """
    )
    pytester.runpytest("--alluredir", "allure").assert_outcomes(passed=1)
    results = [json.loads(p.read_text()) for p in (pytester.path / "allure").glob("*-result.json")]
    assert len(results) == 1
    labels = {(label["name"], label["value"]) for label in results[0]["labels"]}
    assert ("epic", "Load Scenarios (Field Exercises)") in labels, "epic: the gate family in the theme's words"
    assert ("tag", "spike") in labels
    assert {"name": "p95", "value": "'230.5 ms (< 1000 ms) pass'"}.items() <= results[0]["parameters"][0].items()
    attachment = next(a for a in results[0]["attachments"] if a["name"] == "results")
    assert json.loads((pytester.path / "allure" / attachment["source"]).read_text())[0]["value"] == 230.5
    env = (pytester.path / "allure" / "environment.properties").read_text()
    assert "Mission.Verdict=GO" in env
    assert "Mission.DEFCON=5 (FADE OUT)" in env
