"""The mission report without a browser: what it reads, what it refuses to show, how fast it renders."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import report_suite

from pytest_artemis import theme
from pytest_artemis.errors import ConfigError
from pytest_artemis.reporting.html import render, write_report
from pytest_artemis.reporting.html.artifacts import parse_timeseries
from pytest_artemis.reporting.html.panels import SECTIONS
from pytest_artemis.reporting.html.svg import nice_max

PANELS = tuple(SECTIONS)


def _without_stamp(html: str) -> str:
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "generated -", html)


def test_a_real_pytester_sessions_verdict_renders_every_panel(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("ARTEMIS_")]:
        monkeypatch.delenv(name)
    pytester.makepyfile(test_mission=report_suite.SUITE)
    (pytester.path / "timeseries.json").write_text(json.dumps(report_suite.timeseries()))
    pytester.runpytest_subprocess("--artemis-verdict=v.json", timeout=120)
    verdict = json.loads((pytester.path / "v.json").read_text())
    html = render(verdict)
    for panel in PANELS:
        assert f'id="{panel}"' in html
    assert f'data-verdict="{verdict["verdict"]}"' in html
    assert f'data-level="{verdict["defcon"]["level"]}"' in html
    assert theme.DEFCON_NAMES[verdict["defcon"]["level"]] in html


def test_artemis_report_writes_the_same_page_from_the_verdict_file(mission: Any) -> None:
    assert mission.cli.returncode == 0, mission.cli.stderr
    assert "mission report written to" in mission.cli.stdout
    assert _without_stamp(mission.cli_report.read_text()) == _without_stamp(mission.report.read_text())


def test_a_secret_planted_in_the_target_url_appears_nowhere(mission: Any) -> None:
    for page in (mission.report, mission.cli_report):
        html = page.read_text()
        assert report_suite.PASSWORD not in html and report_suite.TOKEN not in html
        assert "scout:***@127.0.0.1:9" in html  # the target is shown, its credentials are not


def test_the_renderer_redacts_a_verdict_that_was_never_redacted(tmp_path: Path) -> None:
    secret, token = "Unredacted-pw-93", "raw-token-5150"
    url = f"https://ops:{secret}@staging.example.com/?api_key={token}"
    series = report_suite.timeseries()
    series["faults"][0]["settings"] = {"upstream": url}
    (tmp_path / "ts.json").write_text(json.dumps(series))
    verdict = {"status": "complete", "verdict": "NO-GO", "defcon": {"level": 2}, "config": {"target": url},
               "tests": [{"nodeid": f"test_x.py::test_probe[{url}]", "gate": "load", "outcome": "failed",
                          "message": f"GET {url} timed out", "artifacts": [{"name": "load timeseries.json",
                                                                            "path": str(tmp_path / "ts.json")}],
                          "findings": [{"check": "load-p95", "severity": "critical", "message": f"slow {url}",
                                        "fix": f"curl {url}", "figure": "p95_ms", "value": 9, "limit": 1,
                                        "comparison": "<=", "unit": "ms", "status": "fail", "scenario": "load"}]}]}
    html = render(verdict)
    assert "staging.example.com" in html and "fault" in html
    assert secret not in html and token not in html


def test_a_killed_sessions_verdict_is_marked_incomplete_and_stays_no_go(mission: Any) -> None:
    running = dict(mission.verdict, status="running", verdict="GO", finished=None, complete=False)
    html = render(running)
    assert 'id="incomplete"' in html and "INCOMPLETE" in html
    assert 'data-verdict="NO-GO"' in html and 'data-level="1"' in html
    assert "session running" in html  # and the timeline says so


KILLED = """
import os
import signal

import pytest


@pytest.mark.load
def test_a_figure_before_the_kill(artemis_record):
    artemis_record.measurement("p95_ms", 41.5, "ms", limit=500, comparison="<=", passed=True, scenario="load")


@pytest.mark.probes
def test_the_ci_runner_kills_the_session():
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_sessions_journal_renders_as_an_incomplete_no_go_report(pytester: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("ARTEMIS_")]:
        monkeypatch.delenv(name)
    pytester.makepyfile(test_killed=KILLED)
    pytester.runpytest_subprocess("--artemis-verdict=v.json", "-p", "no:cacheprovider", timeout=120)
    assert (pytester.path / "v.json.journal").exists()  # the head and the journal a SIGKILL leaves
    done = subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.report_cli", "v.json", "-o", "r.html"],
                          cwd=pytester.path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    html = (pytester.path / "r.html").read_text()
    assert 'id="incomplete"' in html and 'data-verdict="NO-GO"' in html and 'data-level="1"' in html
    assert 'data-value="41.5"' in html  # the finished test's figure, from the journal


@pytest.mark.parametrize("verdict", [
    {},
    {"status": "crashed", "crash": "usage error: --artemis-profile got 'huge'", "verdict": "NO-GO", "config": {},
     "tests": [], "findings": [], "measurements": []},
    {"status": "complete", "verdict": "GO", "defcon": {"level": 5}, "gates": {"probes": {"passed": 1}},
     "tests": [None, {"nodeid": "t.py::x", "findings": [{"check": "c"}, "junk", {"nope": 1}],
                      "artifacts": [{"name": "load timeseries.json", "path": ""}]}], "findings": None},
], ids=["empty", "usage-error", "odd-entries"])
def test_a_sparse_or_odd_verdict_still_renders_every_panel(verdict: dict[str, Any]) -> None:
    html = render(verdict)
    assert all(f'id="{panel}"' in html for panel in PANELS)


def test_the_page_names_no_external_resource_and_forbids_fetching_one(mission: Any) -> None:
    html = mission.report.read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""\b(?:src|href|srcset|action|poster)\s*=\s*(?!["']?(?:data:|#))""", html), "an attribute loads a resource"
    assert "@import" not in html and "url(" not in html


def test_vitals_say_no_samples_when_no_run_recorded_a_time_series(mission: Any) -> None:
    bare = dict(mission.verdict, tests=[dict(t, artifacts=[]) for t in mission.verdict["tests"]])
    html = render(bare)
    vitals = html[html.index('id="system-vitals"'):html.index('id="threat-detection"')]
    assert "no samples" in vitals


def test_a_missing_time_series_is_named_and_the_rest_still_renders(mission: Any, tmp_path: Path) -> None:
    moved = json.loads(json.dumps(mission.verdict))
    for test in moved["tests"]:
        for artifact in test["artifacts"]:
            artifact["path"] = str(tmp_path / "gone" / "timeseries.json")
    html = render(moved)
    assert "timeseries.json not found" in html and 'id="tactical-intelligence"' in html


def test_artifacts_downloaded_elsewhere_are_found_under_the_artifacts_root(mission: Any, tmp_path: Path) -> None:
    session = Path(mission.verdict["session_dir"])
    copied = tmp_path / "download" / session.name
    shutil.copytree(session, copied)
    moved = dict(mission.verdict, session_dir="/ci/elsewhere/" + session.name,
                 tests=[dict(t, artifacts=[dict(a, path=a["path"].replace(str(session.parent), "/ci/elsewhere"))
                                           for a in t["artifacts"]]) for t in mission.verdict["tests"]])
    assert "latency over time" not in render(moved, tmp_path / "nowhere")
    assert "latency over time" in render(moved, tmp_path / "download")


def test_the_timeline_lists_faults_failures_and_alerts(mission: Any) -> None:
    html = mission.report.read_text()
    timeline = html[html.index('id="tactical-intelligence"'):]
    assert "fault latency switched on (ms=200)" in timeline and "fault latency switched off" in timeline
    assert "alert performance degraded pending" in timeline
    assert "failed: AssertionError: p99 612.9 ms" in timeline


def test_a_report_of_2000_tests_renders_in_under_a_second(mission: Any, tmp_path: Path) -> None:
    big = report_suite.big_verdict(mission.verdict, 2000)
    timings = []
    for _ in range(3):  # best of three: other jobs share the machine
        started = time.perf_counter()
        write_report(big, tmp_path / "big.html")
        timings.append(time.perf_counter() - started)
    print(f"2,000-test report rendered in {min(timings) * 1000:.0f} ms (best of {len(timings)}), "
          f"{(tmp_path / 'big.html').stat().st_size / 1024:.0f} KiB")
    assert min(timings) < 1.0


def test_write_report_names_a_path_it_cannot_write(mission: Any, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="mission report .*file/r.html cannot be written"):
        write_report(mission.verdict, tmp_path / "file" / "r.html")


def test_artemis_report_exits_2_naming_an_unreadable_verdict(tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text("{not json")
    done = subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.report_cli", str(tmp_path / "v.json"),
                           "-o", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "v.json cannot be read" in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_long_runs_are_downsampled_for_the_charts() -> None:
    series = parse_timeseries(report_suite.timeseries(seconds=3600))
    assert len(series.t) <= 360 and max(v for v in series.p99 if v is not None) == 340.0  # spikes survive


@pytest.mark.parametrize(("value", "top", "step"), [(340, 400, 100), (30, 30, 10), (0.4, 0.4, 0.1), (0, 1, 1)])
def test_axes_end_on_round_numbers(value: float, top: float, step: float) -> None:
    assert nice_max(value) == pytest.approx((top, step))
