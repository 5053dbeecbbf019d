"""A small suite that records what the mission report shows, and the session that runs it into a verdict file.

:data:`SUITE` is a test module for a pytester/subprocess session: a load scenario whose figures come through
``artemis_record.measurement`` (one broken limit) with a ``timeseries.json`` artifact (phases, a fault switched
on and off, target memory, generator CPU), manifest objects with findings, a rollout test, an alert check and
a probe. :func:`write_history` plants green runs in the history store; :data:`TARGET` carries a planted secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["PASSWORD", "SUITE", "TARGET", "TOKEN", "run_suite", "timeseries", "write_history"]

PASSWORD = "Tr0ub4dor-PLANTED-pw"
TOKEN = "tok-PLANTED-4711"
TARGET = f"http://scout:{PASSWORD}@127.0.0.1:9/api?token={TOKEN}"


def timeseries(seconds: int = 30) -> dict[str, Any]:
    """A load run's time series as pytest_artemis.load.charts.write_timeseries writes it."""
    samples = []
    for t in range(seconds):
        users = 10 if t < 10 else 50 if t < 20 else 10
        slow = 10 <= t < 15
        samples.append({"t": t, "users": users, "requests": users * 10, "failures": 3 if slow else 0,
                        "error_rate_percent": 0.6 if slow else 0.0, "p50_ms": 4.0 + t % 3,
                        "p95_ms": 220.0 if slow else 12.0 + t % 5, "p99_ms": 340.0 if slow else 30.0 + t % 7,
                        "rps": float(users * 10), "cpu_percent": {"local": 20.0 + users / 2}, "lag_ms": {"local": 1.0},
                        "endpoints": {}})
    return {
        "plan": {"scenario": "spike", "profile": "ci", "shape": {"name": "spike", "seed": None, "stages": [
            {"until": 10, "users": 10, "spawn_rate": 10, "label": "normal"},
            {"until": 20, "users": 50, "spawn_rate": 50, "label": "spike"},
            {"until": 30, "users": 10, "spawn_rate": 50, "label": "recovery"}]}, "faults": []},
        "summary": {"scenario": "spike", "target": "http://127.0.0.1:9/api", "duration_s": seconds, "aborted": "",
                    "end_reason": "shape finished", "invalid": "", "requests": 9000, "rps": 300.0},
        "samples": samples,
        "health": [{"t": t / 2, "ok": True} for t in range(seconds * 2)],
        "memory": [{"t": float(t), "bytes": (80 + t) * 1024 * 1024} for t in range(seconds)],
        "faults": [{"t": 10.0, "fault": "latency", "on": True, "settings": {"ms": 200}},
                   {"t": 15.0, "fault": "latency", "on": False, "settings": {}}],
    }


SUITE = '''
import json
from pathlib import Path

import pytest
from pytest_artemis.findings import Finding

TIMESERIES = json.loads(Path(__file__).with_name("timeseries.json").read_text())


@pytest.mark.spike
def test_the_spike_holds_its_baselines(artemis_record, artemis_artifacts):
    m = artemis_record.measurement
    m("p95_ms", 182.4, "ms", limit=500, comparison="<=", passed=True, scenario="spike", check="load-p95")
    m("p99_ms", 612.9, "ms", limit=500, comparison="<=", passed=False, scenario="spike", check="load-p99",
      message="p99 612.9 ms > limit 500.0 ms over the whole run")
    m("throughput_rps", 301.25, "req/s", limit=100, comparison=">=", passed=True, scenario="spike")
    m("error_rate_percent", 0.17, "%", limit=1, comparison="<=", passed=True, scenario="spike")
    m("availability_percent", 100.0, "%", limit=99.5, comparison=">=", passed=True, scenario="spike")
    m("p95_ms", 240.0, "ms", limit=500, comparison="<=", passed=True, scenario="spike", endpoint="GET /api/v1/missions")
    m("recovery_seconds", 3.2, "s", limit=10, comparison="<=", passed=True, scenario="spike")
    path = artemis_artifacts / "timeseries.json"
    path.write_text(json.dumps(TIMESERIES))
    artemis_record.artifact("spike timeseries.json", path)
    assert False, "p99 612.9 ms > limit 500.0 ms"


@pytest.mark.manifests
@pytest.mark.parametrize("name", ["web", "worker", "cache"])
def test_kit_object(name, artemis_record):
    if name == "web":
        artemis_record.findings([
            Finding(check="security-run-as-root", severity="critical", message="container app runs as root",
                    kind="Deployment", name="web", namespace="prod", file="manifests/base/deployment.yaml",
                    container="app", fix="set securityContext.runAsNonRoot: true"),
            Finding(check="pdb-missing", severity="warning", message="no PodDisruptionBudget selects it",
                    kind="Deployment", name="web", namespace="prod", file="manifests/base/deployment.yaml",
                    fix="add a PodDisruptionBudget with minAvailable: 1", details={"replicas": 3})])
        assert False, "1 finding(s) at or above critical"


@pytest.mark.rollout
def test_rolling_update_keeps_serving(artemis_record):
    artemis_record.measurement("failed_requests_during_rollout", 0, "requests", limit=0, comparison="<=",
                               passed=True)


@pytest.mark.observability
def test_performance_degraded_goes_pending(artemis_record):
    artemis_record.measurement("performance_degraded_seconds_to_pending", 4.5, "s", limit=60, comparison="<",
                               passed=True, state="pending", phase="latency")


@pytest.mark.probes
def test_readiness_probe(artemis_record):
    artemis_record.measurement("readiness_p95", 3.1, "ms", limit=1000, comparison="<=", passed=True)
'''


def write_history(directory: Path, runs: int = 6) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = {"runs": [{"time": 1_790_000_000 + i * 3600, "green": i != 2, "p95_ms": 150.0 + 9 * i,
                      "p99_ms": 320.0 + 15 * i, "error_rate_percent": 0.1, "rps": 290.0 + i, "profile": "ci",
                      "requests": 9000, "plan": "abc", "seed": None} for i in range(runs)]}
    (directory / "spike-ci-local.json").write_text(json.dumps(data), encoding="utf-8")


def run_suite(directory: Path, *extra: str) -> Path:
    """Run :data:`SUITE` in ``directory`` in its own pytest process; the verdict file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "test_mission.py").write_text(SUITE, encoding="utf-8")
    (directory / "timeseries.json").write_text(json.dumps(timeseries()), encoding="utf-8")
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    write_history(directory / "history")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTEMIS_", "PYTEST_"))}
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--artemis-verdict=verdict.json",
                    f"--artemis-target={TARGET}", "--artemis-history=history", *extra],
                   cwd=directory, env=env, capture_output=True, text=True, timeout=120, check=False)
    return directory / "verdict.json"


def big_verdict(verdict: dict[str, Any], tests: int = 2000, load_every: int = 100) -> dict[str, Any]:
    """``verdict`` grown to ``tests`` tests: its load test every ``load_every``-th (time series included), its
    other tests (manifest objects with findings, probes, rollout, alerts) in between."""
    load = [t for t in verdict["tests"] if t["gate"] == "load"]
    others = [t for t in verdict["tests"] if t["gate"] != "load"]
    grown = []
    for i in range(tests):
        base = load[0] if load and i % load_every == 0 else others[i % len(others)]
        grown.append(json.loads(json.dumps(base)) | {"nodeid": f"{base['nodeid']}-{i}"})
    gates: dict[str, dict[str, Any]] = {}
    for t in grown:
        counts = gates.setdefault(t["gate"], {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "warnings": 0})
        counts[t["outcome"]] += 1
    for counts in gates.values():
        counts["verdict"] = "NO-GO" if counts["failed"] or counts["error"] else "GO"
    return {**verdict, "tests": grown, "gates": gates,
            "findings": [dict(f, nodeid=t["nodeid"]) for t in grown for f in t["findings"]
                         if f["status"] in ("fail", "inconclusive")],
            "measurements": []}
