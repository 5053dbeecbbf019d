"""Each registered load check, table-driven over synthetic runs: the finding carries its id, the figure, the
limit and a status; too little data is inconclusive, never a pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_artemis.baselines import Baseline
from pytest_artemis.findings import Finding
from pytest_artemis.load import gates
from pytest_artemis.load.monitor import WindowMonitor
from pytest_artemis.load.results import RunResult, Sample, Summary

BASE = Baseline("local", None, p95_ms=100, p99_ms=200, error_rate_percent=1.0, throughput_rps=40,
                availability_percent=99.0, endpoints={"GET /x": {"p95_ms": 50}})


def _run(p_ms: float, seconds: int = 10, n: int = 50, failures: int = 0, **kw: Any) -> RunResult:
    samples = []
    for t in range(seconds):
        summary = Summary(requests=n, failures=failures, total_ms=p_ms * n, max_ms=p_ms)
        for _ in range(n):
            summary.histogram.add(p_ms)
        sample = Sample(float(t), 5, summary, {"GET /x": summary})
        sample.first, sample.last = sample.t, sample.t + 0.99
        samples.append(sample)
    return RunResult(plan=None, samples=samples, started=0.0, ended=float(seconds), **kw)  # type: ignore[arg-type]


FAST, SLOW, EMPTY = _run(10), _run(300), _run(10, seconds=1, n=5)
CASES: list[tuple[str, Callable[[], Finding], str]] = [
    ("load-p95", lambda: gates.latency_gate(SLOW, BASE), "fail"),
    ("load-p95", lambda: gates.latency_gate(FAST, BASE), "pass"),
    ("load-p95", lambda: gates.latency_gate(EMPTY, BASE), "inconclusive"),
    ("load-p99", lambda: gates.p99_gate(SLOW, BASE), "fail"),
    ("load-error-rate", lambda: gates.error_rate_gate(_run(10, failures=5), BASE), "fail"),
    ("load-error-rate", lambda: gates.error_rate_gate(EMPTY, BASE), "inconclusive"),
    ("load-throughput", lambda: gates.throughput_gate(_run(10, n=10), BASE), "fail"),
    ("load-throughput", lambda: gates.throughput_gate(FAST, BASE), "pass"),
    ("load-availability", lambda: gates.availability_gate(_run(10, health=[(0.5, True), (1.0, False)]), BASE),
     "fail"),
    ("load-endpoint", lambda: gates.endpoint_gates(SLOW, BASE)[0], "fail"),
    ("load-window", lambda: gates.window_gate(SLOW, WindowMonitor("p95_ms", 100, 4)), "fail"),
    ("load-window", lambda: gates.window_gate(EMPTY, WindowMonitor("p95_ms", 100, 4)), "info"),
    ("load-regression", lambda: gates.regression_gate(_History([10, 11, 10]), {"p95_ms": 40.0}), "fail"),
    ("load-generator-saturated", lambda: gates.generator_gate(_run(10, cpu_warnings=["local"])), "inconclusive"),
    ("load-generator-saturated", lambda: gates.generator_gate(FAST), "info"),
    ("load-run-invalid", lambda: gates.run_validity_gate(_run(10, invalid="worker 2 (pid 1) lost at t=2.0 s")),
     "inconclusive"),
    ("load-steady-state", lambda: gates.steady_state_gate("after", 90.0, 5.0, 100, ("/health/ready",), ["503"]),
     "fail"),
    ("load-recovery", lambda: gates.recovery_gate(None, {"p95_limit_ms": 15.0, "reference_p95_ms": 10.0,
                                                         "reference_requests": 100}, 30, "the spike"), "fail"),
    ("load-recovery", lambda: gates.recovery_gate(None, {"p95_limit_ms": 5.0, "reference_p95_ms": 0.0,
                                                         "reference_requests": 0}, 30, "the spike"), "inconclusive"),
    ("load-knee", lambda: gates.knee_gate(10, 30, 50, [{"users": 10}]), "fail"),
    ("load-knee", lambda: gates.knee_gate(None, 30, 50, []), "inconclusive"),
    ("load-memory-growth", lambda: gates.memory_gate([(float(t), (50 + 2 * t) * 2**20) for t in range(10)], 5,
                                                     "test"), "fail"),
    ("load-memory-growth", lambda: gates.memory_gate([(1.0, 2**20)], 5, "test"), "inconclusive"),
]


class _History(gates.History):
    def __init__(self, p95s: list[float]) -> None:
        super().__init__(__import__("pathlib").Path("/nonexistent"), "t")
        self._runs = [{"green": True, "p95_ms": v} for v in p95s]

    def runs(self) -> list[dict[str, Any]]:
        return self._runs


@pytest.mark.parametrize(("check_id", "make", "status"), CASES,
                         ids=[f"{c[0]} {c[2]}" for c in CASES])
def test_each_load_check_yields_its_id_figure_and_status(check_id: str, make: Callable[[], Finding],
                                                         status: str) -> None:
    finding = make()
    assert (finding.check, finding.status) == (check_id, status), finding.message
    assert finding.severity == "critical" and finding.fix and finding.figure and finding.message
    if status in ("pass", "fail"):  # a judged figure states its limit (a recovery that never came has no value)
        assert finding.limit is not None and finding.comparison in ("<=", ">=")
        assert finding.value is not None or "no recovery" in finding.message


def test_an_inconclusive_gate_is_a_problem_and_not_a_pass() -> None:
    finding = gates.latency_gate(EMPTY, BASE)
    assert finding.problem and not finding.passed
    assert "5 requests, 20 needed to judge" in finding.message
