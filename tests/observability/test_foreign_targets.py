"""The live monitoring suite against a target it did not start: a plain HTTP server on 127.0.0.1.

Run as a user runs it (``pytest -m observability --artemis-target URL``): without a Prometheus /metrics
and without ``--artemis-prometheus`` every check is skipped with one line saying what to give, never an
error; in a production environment every check fails with the guard's one line before a single request
reaches the target.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.monitoring import KIT_ALERTS

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "suites" / "test_monitoring_live.py"
CHECKS = 2 + len(KIT_ALERTS)  # the kit dashboard, no alert without faults, one per alert


@pytest.fixture
def live_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """The live suite and the kit dashboard in a pytester directory."""
    pytester.makepyfile(test_monitoring_live=SUITE.read_text(encoding="utf-8"))
    shutil.copy(ROOT / "dashboards" / "artemis-command-dashboard.json", pytester.mkdir("boards"))
    return pytester


def summary_lines(result: pytest.RunResult, outcome: str) -> list[str]:
    return [line for line in result.outlines if line.startswith(outcome + " ")]


def test_a_target_without_metrics_skips_every_check_with_one_line_saying_what_to_give(
    live_suite: pytest.Pytester, plain_server: Any
) -> None:
    result = live_suite.runpytest_subprocess(
        "test_monitoring_live.py", "-m", "observability", "--artemis-target", plain_server.url,
        "--artemis-dashboards", "boards", "-p", "no:cacheprovider", "-rs", timeout=120)

    result.assert_outcomes(skipped=CHECKS)
    [line] = summary_lines(result, "SKIPPED")
    assert f"SKIPPED [{CHECKS}]" in line
    assert line.endswith(f"the target {plain_server.url} has no Prometheus /metrics; give --artemis-prometheus "
                         "URL of a Prometheus that already scrapes it")
    assert "/metrics" in plain_server.paths, "the checks looked for /metrics before skipping"
    assert not [p for p in plain_server.paths if p.startswith(("/api", "/admin"))], "no traffic was sent"


def test_production_refuses_every_check_with_one_line_before_a_single_request(
    live_suite: pytest.Pytester, plain_server: Any
) -> None:
    result = live_suite.runpytest_subprocess(
        "test_monitoring_live.py", "-m", "observability", "--artemis-target", plain_server.url,
        "--artemis-environment", "production", "--artemis-dashboards", "boards", "-p", "no:cacheprovider",
        "-rf", timeout=120)

    result.assert_outcomes(failed=CHECKS)
    refusal = ("live monitoring traffic refused: --artemis-environment is production; "
               "pass --artemis-allow-production-load to allow it")
    assert len(summary_lines(result, "FAILED")) == CHECKS
    assert result.outlines.count(refusal) == CHECKS, "each check fails with that one line"
    assert "Traceback" not in result.stdout.str() and "During handling" not in result.stdout.str()
    assert plain_server.requests == [], "the target received requests"
