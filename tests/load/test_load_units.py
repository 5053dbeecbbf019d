"""Load building blocks without processes: shapes, plans, histograms, windows, knees, slopes, history."""

from __future__ import annotations

import math
import random
import threading
from pathlib import Path

import pytest

from pytest_artemis.errors import LoadError
from pytest_artemis.load import gates, shapes
from pytest_artemis.load.evaluate import plan_signature
from pytest_artemis.load.results import Histogram, RunResult, Sample, Summary, merge_samples
from pytest_artemis.load.scenarios import parse_params, plan_for


def _exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def _sample(t: int, p_ms: float, n: int = 50, failures: int = 0, users: int = 5) -> Sample:
    summary = Summary(requests=n, failures=failures, total_ms=p_ms * n, max_ms=p_ms)
    for _ in range(n):
        summary.histogram.add(p_ms)
    return Sample(float(t), users, summary, {"GET /x": summary})


def _result(samples: list[Sample], **kw: object) -> RunResult:
    for s in samples:
        s.first, s.last = s.t, s.t + 0.99
    return RunResult(plan=None, samples=samples, started=0.0, ended=float(len(samples)), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("dist", ["uniform", "lognormal", "bimodal"])
def test_histogram_percentiles_are_within_half_a_percent_of_the_exact_ones(dist: str) -> None:
    rng = random.Random(7)
    make = {"uniform": lambda: rng.uniform(0.2, 900), "lognormal": lambda: rng.lognormvariate(1.5, 1.0),
            "bimodal": lambda: rng.choice((rng.gauss(2, 0.2), rng.gauss(350, 20)))}[dist]
    values = [max(0.01, make()) for _ in range(20_000)]
    histogram = Histogram()
    for v in values:
        histogram.add(v)
    for q in (50, 95, 99):
        exact = _exact(values, q)
        assert abs(histogram.percentile(q) - exact) <= 0.005 * exact + 1e-6, (q, exact, histogram.percentile(q))


def test_histograms_of_several_processes_merge_losslessly() -> None:
    a, b, both = Histogram(), Histogram(), Histogram()
    for i in range(1000):
        (a if i % 2 else b).add(i / 10)
        both.add(i / 10)
    assert Histogram.from_json(a.as_json()).merge(b).buckets == both.buckets


def test_sample_lines_of_two_workers_fold_into_one_sample_per_second() -> None:
    line = {"endpoints": {"GET /x": {"n": 10, "fail": 1, "sum": 20.0, "max": 3.0, "h": {"50": 10}}}}
    lines = [{"t": 100, "role": "worker-1", "users": 3, **line}, {"t": 100, "role": "worker-2", "users": 2, **line},
             {"t": 101, "role": "worker-1", "users": 3, **line}, {"t": 99, "role": "worker-2", "users": 0,
                                                                  "endpoints": {}}]
    samples = merge_samples(lines, started=100.2)
    assert [(s.t, s.users, s.total.requests, s.total.failures) for s in samples] == [(0, 5, 20, 2), (1, 3, 10, 1)]


def test_a_constant_shape_ticks_its_users_then_ends() -> None:
    shape = shapes.constant(10, 3.0)
    assert [shape.tick(t) for t in (0, 2.9, 3.0)] == [(10, 10), (10, 10), None]


def test_a_spike_shape_multiplies_users_by_five_then_recovers() -> None:
    shape = shapes.spike(4, 2, 2, 4)
    assert [shape.tick(t)[0] for t in (1, 3, 5)] == [4, 20, 4]
    assert shape.duration == 8


def test_scalability_steps_run_from_ten_to_one_hundred_by_ten() -> None:
    assert [s.users for s in shapes.steps(10, 100, 10, 5).stages] == list(range(10, 101, 10))


def test_a_chaos_pattern_is_reproducible_from_its_seed() -> None:
    first, again = plan_for("chaos", "smoke", {"seed": 42}), plan_for("chaos", "smoke", {"seed": 42})
    assert first.shape == again.shape and first.faults == again.faults
    assert plan_for("chaos", "smoke", {"seed": 43}).shape != first.shape
    assert {f.fault for f in first.faults} == {"latency", "errors", "readiness"}
    assert all(first.duration * 0.25 <= f.at and f.until <= first.duration * 0.75 + 0.01 for f in first.faults)


@pytest.mark.parametrize("profile", ["smoke", "ci", "full"])
@pytest.mark.parametrize("scenario", ["load", "spike", "endurance", "scalability", "chaos"])
def test_every_scenario_has_a_bounded_plan_on_every_profile(scenario: str, profile: str) -> None:
    plan = plan_for(scenario, profile, {"seed": 1})
    assert 0 < plan.duration < plan.max_seconds <= 400
    assert 0 < plan.max_users <= 100
    if profile == "smoke":
        assert plan.duration <= 16, "smoke runs must take seconds"


def test_the_seed_parameters_override_the_profile() -> None:
    plan = plan_for("load", "smoke", {"users": 50, "requests": 100})
    assert (plan.max_users, plan.request_budget) == (50, 5000)
    assert [s.users for s in plan_for("scalability", "ci", {"max_users": 100, "step_size": 10}).shape.stages] \
        == list(range(10, 101, 10))


@pytest.mark.parametrize(("params", "message"), [
    ({"users": 0}, "users=0: must be between 1 and 5000"),
    ({"users": "many"}, "users='many': expected a whole number"),
    ({"duration": -5}, "duration=-5: must be between 1 and 86400"),
    ({"rampup": 3}, "'rampup' is unknown"),
    ({"max_users": 2, "users": 5}, "max_users 2 is below the first step of 5 users"),
    ({"users": 5000, "rate": 100}, "the bound is 20,000"),
])
def test_invalid_scenario_values_are_refused_with_the_key_and_the_range(params: dict, message: str) -> None:
    scenario = "scalability" if "max_users" in params else "load"
    with pytest.raises(LoadError, match=message.replace("(", r"\(")):
        plan_for(scenario, "smoke", params)


def test_parameters_given_as_key_value_strings_are_parsed() -> None:
    assert parse_params(["users=5", "max-users=9", "rate=2.5"]) == {"users": 5, "max_users": 9, "rate": 2.5}
    with pytest.raises(LoadError, match="expected KEY=VALUE"):
        parse_params(["users"])


def test_a_window_monitor_aborts_on_a_sustained_breach_and_names_the_window() -> None:
    monitor = gates.WindowMonitor("p95_ms", limit=100, window=2, abort_after=2)
    for t, ms in enumerate([5, 5, 400, 400, 400, 400]):
        monitor.feed(_sample(t, ms))
    assert monitor.abort is not None and monitor.abort.start == 2 and monitor.abort.end == 4
    assert "p95 400" in monitor.describe(monitor.abort) and "window 2-4 s" in monitor.describe(monitor.abort)


def test_a_single_slow_second_does_not_break_a_ten_second_window() -> None:
    result = _result([_sample(t, 500, n=20) if t == 5 else _sample(t, 5) for t in range(20)])  # 20 of 470: 4 %
    assert gates.window_gate(result, gates.WindowMonitor("p95_ms", 100, 10)).passed


@pytest.mark.parametrize(("steps", "expected"), [
    ([(10, 100, 5, 0), (20, 200, 5, 0), (30, 300, 6, 0), (40, 310, 7, 0)], 30),  # RPS stops growing
    ([(10, 100, 5, 0), (20, 200, 5, 0), (30, 300, 1500, 0)], 20),  # p95 breaks the SLO
    ([(10, 100, 5, 0), (20, 200, 5, 5.0)], 10),  # errors break the SLO
    ([(10, 100, 2000, 0)], None),  # even the first step fails
])
def test_the_knee_is_the_last_step_where_the_slo_holds_and_rps_grows(steps: list, expected: int | None) -> None:
    assert gates.knee(steps, p95_limit=1000, error_limit=1.0)[0] == expected


def test_memory_growth_is_a_least_squares_slope_in_mb_per_minute() -> None:
    points = [(float(t), 50 * 2**20 + t * 2 * 2**20 + (2**18 if t % 2 else 0)) for t in range(10)]
    assert gates.memory_slope(points) == pytest.approx(120, rel=0.05)
    assert not gates.memory_gate(points, 5, "test").passed
    assert gates.memory_gate([(float(t), 50 * 2**20) for t in range(10)], 5, "test").passed


def test_recovery_counts_the_seconds_until_p95_is_back_near_the_level_before() -> None:
    p95 = [5, 5, 5, 300, 300, 200, 100, 6, 5, 5]
    seconds, details = gates.recovery_seconds(_result([_sample(t, v) for t, v in enumerate(p95)]), 3, 5, 50)
    assert seconds == 2 and details["reference_p95_ms"] == pytest.approx(5, rel=0.01)
    never, _ = gates.recovery_seconds(_result([_sample(t, 5 if t < 3 else 300) for t in range(10)]), 3, 5, 50)
    assert never is None and not gates.recovery_gate(never, _, 30, "spike").passed


@pytest.mark.parametrize(("history", "value", "passed"), [
    ([10, 11, 10], 11.5, True),   # within 25 %
    ([10, 11, 10], 40.0, False),  # a real regression
    ([1.0, 1.1, 1.0], 5.0, True),  # under the 5 ms noise floor
    ([10], 40.0, True),           # too few green runs: not applied
])
def test_the_regression_gate_compares_with_the_median_of_green_runs(tmp_path: Path, history: list[float],
                                                                     value: float, passed: bool) -> None:
    store = gates.History(tmp_path, "load")
    for v in history:
        store.append({"p95_ms": v}, green=True)
    store.append({"p95_ms": 999}, green=False)  # red runs never become the reference
    assert gates.regression_gate(store, {"p95_ms": value}).passed is passed


def test_a_busy_generator_is_reported_as_saturated() -> None:
    busy = [_sample(t, 5) for t in range(4)]
    for s in busy[1:3]:
        s.cpu_percent = {"local": 97.0}
    assert "above 90% CPU or with its event loop over 10 ms late for 2 s" in gates.generator_health(_result(busy))
    late = [_sample(t, 5) for t in range(4)]
    for s in late[2:]:
        s.lag_ms = {"worker-2": 35.0}
    assert "worker-2" in gates.generator_health(_result(late)) and "loop 35.0 ms late" in \
        gates.generator_health(_result(late))
    assert gates.generator_health(_result([_sample(t, 5) for t in range(4)])) == ""
    assert "Locust reported CPU" in gates.generator_health(_result([_sample(0, 5)], cpu_warnings=["worker-1"]))


def test_the_regression_gate_compares_only_with_green_runs_of_the_same_plan(tmp_path: Path) -> None:
    store = gates.History(tmp_path, "chaos")
    for seed, p95 in ((1, 150.0), (1, 160.0), (2, 300.0)):
        store.append({"p95_ms": p95, "plan": f"seed-{seed}"}, green=True)
    other_plan = gates.regression_gate(store, {"p95_ms": 300.0, "plan": "seed-3"}, min_samples=1)
    assert other_plan.passed and other_plan.limit is None and "0 green run(s) of the same plan" in other_plan.message
    same_plan = gates.regression_gate(store, {"p95_ms": 300.0, "plan": "seed-1"}, min_samples=2)
    assert not same_plan.passed and same_plan.details["green_runs"] == 2


def test_plans_differing_in_figures_seed_workers_or_user_code_have_different_signatures() -> None:
    base = plan_for("load", "smoke", {"users": 5})
    assert plan_signature(base) == plan_signature(plan_for("load", "smoke", {"users": 5}))
    others = [plan_signature(plan_for("load", "smoke", {"users": 6})), plan_signature(base.with_workers(2)),
              plan_signature(base, "my_locustfile.py"), plan_signature(plan_for("load", "ci", {"users": 5}))]
    assert plan_signature(base) not in others and len(set(others)) == len(others)
    assert plan_signature(plan_for("chaos", "smoke", {"seed": 1})) != plan_signature(plan_for("chaos", "smoke",
                                                                                             {"seed": 2}))


def test_parallel_history_appends_lose_no_run(tmp_path: Path) -> None:
    store = gates.History(tmp_path, "load", keep=1000)
    threads = [threading.Thread(target=lambda i=i: [store.append({"p95_ms": float(i), "n": n}, green=True)
                                                    for n in range(10)]) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.runs()) == 60


def test_a_passing_window_gate_still_records_its_highest_window() -> None:
    result = _result([_sample(t, 40 if t in (6, 7) else 5) for t in range(12)])
    gate = gates.window_gate(result, gates.WindowMonitor("p95_ms", 100, 4))
    assert gate.passed and gate.value == pytest.approx(40, rel=0.01) and gate.unit == "ms"
    assert gate.message.endswith("highest 39.8 ms in the window 3-7 s")  # the first window with both slow seconds


@pytest.mark.parametrize(("content", "problem"), [
    ('{"runs": [', "cannot be read: Expecting value"),
    ('[1, 2]', "expected a JSON object with a 'runs' list, got list"),
])
def test_an_unreadable_history_is_named_in_the_gate_and_kept_aside(tmp_path: Path, content: str, problem: str) -> None:
    store = gates.History(tmp_path, "load")
    store.path.write_text(content)
    gate = gates.regression_gate(store, {"p95_ms": 5.0})
    assert gate.passed and gate.limit is None and f"{store.path}" in gate.message and problem in gate.message
    store.append({"p95_ms": 5.0}, green=True)
    assert len(store.runs()) == 1 and store.problem == ""
    kept = list(tmp_path.glob("load.unreadable-*.json"))
    assert len(kept) == 1 and kept[0].read_text() == content
