"""Every scenario end to end on the smoke profile against the reference service, local and distributed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil
import pytest


@pytest.mark.parametrize("scenario", ["load", "spike", "endurance", "scalability", "chaos"])
def test_each_scenario_runs_end_to_end_and_passes_its_gates(run_scenario, locust_children,
                                                            pytester: pytest.Pytester, scenario: str) -> None:
    run = run_scenario(scenario, *(["--artemis-load-param", "seed=7"] if scenario == "chaos" else []))
    run.result.assert_outcomes(passed=1)
    gates = [m for m in run.verdict["measurements"] if m["name"].startswith(scenario) and m["passed"] is not None]
    assert gates and all(m["passed"] for m in gates), [m["details"].get("message") for m in gates]
    expected = {"load": "p95_ms", "spike": "recovery_seconds", "endurance": "memory_growth_mb_per_minute",
                "scalability": "knee_users", "chaos": "availability_percent"}[scenario]
    gate = run.measurement(f"{scenario} {expected}")
    assert gate["limit"] is not None and gate["details"]["message"]
    artifacts = {a["name"].split(" ", 1)[1]: Path(a["path"]) for a in run.verdict["tests"][0]["artifacts"]}
    for name in ("timeseries.json", "load.png", "locust-report.html", "locust_stats.csv"):
        assert artifacts[name].stat().st_size > 0, name
    if scenario == "chaos":  # the faults were really switched on and off, and the error burst reached the users
        faults = json.loads(artifacts["timeseries.json"].read_text())["faults"]
        assert sorted((f["fault"], f["on"]) for f in faults) == sorted(
            (name, on) for name in ("latency", "errors", "readiness") for on in (True, False))
        assert run.measurement("chaos summary")["details"]["failures"] > 0
        assert run.measurement("chaos seed")["value"] == 7
        run.result.stdout.fnmatch_lines(["chaos seed 7 (rerun with --artemis-load-param seed=7)"])
    assert run.pids() and not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                                  for pid in run.pids())
    assert not locust_children(pytester.path)


def test_distributed_mode_with_two_workers_runs_a_master_and_two_workers(run_scenario, locust_children,
                                                                         pytester: pytest.Pytester) -> None:
    run = run_scenario("load", "--artemis-workers", "2")
    run.result.assert_outcomes(passed=1)
    summary = run.measurement("load summary")
    assert summary["details"]["workers"] == 2 and summary["value"] >= 300
    assert summary["details"]["end_reason"] == "request budget spent"  # 10 users x 30 requests, counted by the master
    assert len(run.pids()) == 3 and not any(psutil.pid_exists(pid) for pid in run.pids())
    run_dir = Path(run.measurement("load locust processes")["details"]["run_dir"])
    assert sorted(p.name for p in run_dir.glob("samples-*.jsonl")) == \
        ["samples-master.jsonl", "samples-worker-1.jsonl", "samples-worker-2.jsonl"]
    assert not locust_children(pytester.path)


def test_an_ordinary_locustfile_runs_unchanged(run_scenario, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(my_locustfile="""
        from locust import HttpUser, constant, task

        class Visitor(HttpUser):
            wait_time = constant(0.05)

            @task
            def status(self):
                self.client.get("/api/v1/status")
    """)
    run = run_scenario("load", "--artemis-locustfile", "my_locustfile.py")
    run.result.assert_outcomes(passed=1)
    assert run.measurement("load summary")["value"] > 0
    throughput = run.measurement("load throughput_rps")
    assert throughput["limit"] == 100.0, "an own locustfile keeps the baseline throughput unscaled"


def test_locust_is_never_imported_into_the_pytest_process(run_scenario) -> None:
    run = run_scenario("load")
    run.result.assert_outcomes(passed=1)
    assert "locust" not in sys.modules and "gevent" not in sys.modules
