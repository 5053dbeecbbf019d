"""Arrival mode: the schedule of intended starts, dropped-iteration validity, corrected percentiles on a stall, and
closed mode left as it was. Units need no processes; the end-to-end runs are smoke-sized against the reference
service (Locust only ever runs in child processes)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.baselines import Baseline
from pytest_artemis.errors import LoadError
from pytest_artemis.load import gates, shapes
from pytest_artemis.load.evaluate import evaluate, plan_signature
from pytest_artemis.load.results import Histogram, RunResult, merge_samples
from pytest_artemis.load.scenarios import Plan, plan_for

BASE = Baseline("local", None, p95_ms=1000, p99_ms=100, error_rate_percent=1.0, throughput_rps=1,
                availability_percent=99.0)
ARRIVAL = ("--artemis-load-mode", "arrival")


def _exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


# ---------------------------------------------------------------------- the schedule


def test_a_constant_rate_starts_a_request_every_one_over_users_times_rate_seconds() -> None:
    times = list(shapes.arrival_times(shapes.constant(10, 3.0), 5.0))  # 10 users x 5/s = 50 req/s
    assert len(times) == 150 == shapes.planned_requests(shapes.constant(10, 3.0), 5.0)
    assert times == pytest.approx([k / 50 for k in range(150)])


def test_staged_rates_follow_the_stages_and_keep_the_phase_across_a_boundary() -> None:
    shape = shapes.spike(2, 1.0, 1.0, 2.0)  # 2 users, then 10, then 2 at 5 req/s each: 10, 50, 10 req/s
    times = list(shapes.arrival_times(shape, 5.0))
    per_stage = [sum(1 for t in times if start <= t < end) for start, end, _ in shape.windows()]
    assert per_stage == [10, 50, 20]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:9] == pytest.approx([0.1] * 9) and gaps[10:59] == pytest.approx([0.02] * 49)
    assert times[10] == pytest.approx(1.0) and times[60] == pytest.approx(2.0)
    assert all(b > a for a, b in itertools.pairwise(times))


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_each_process_takes_every_pth_start_and_the_shares_make_the_whole_schedule(processes: int) -> None:
    shape = shapes.spike(3, 1.0, 1.0, 1.0)
    whole = list(shapes.arrival_times(shape, 7.0))
    shares = [list(shapes.arrival_times(shape, 7.0, i, processes)) for i in range(processes)]
    assert sorted(t for share in shares for t in share) == pytest.approx(whole)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    for i, share in enumerate(shares):
        assert share == pytest.approx(whole[i::processes])
    assert sum(shapes.share(17, i, processes) for i in range(processes)) == 17


def test_a_request_budget_caps_the_schedule_of_a_load_plan() -> None:
    plan = plan_for("load", "smoke", {"users": 4, "requests": 25, "rate": 10}, mode="arrival")
    assert plan.planned_requests == 100 and plan.duration > 100 / 40
    assert len(list(shapes.arrival_times(plan.shape, plan.rate_per_user, budget=plan.request_budget))) == 100
    assert sum(len(list(shapes.arrival_times(plan.shape, plan.rate_per_user, i, 2, plan.request_budget)))
               for i in range(2)) == 100


def test_the_in_flight_bound_defaults_to_ten_per_user_or_two_seconds_of_the_peak_rate() -> None:
    assert plan_for("load", "smoke", {"users": 10, "rate": 10}, mode="arrival").in_flight_bound == 200
    assert plan_for("load", "smoke", {"users": 50, "rate": 1}, mode="arrival").in_flight_bound == 500
    assert plan_for("spike", "smoke", {"in_flight": 7}, mode="arrival").in_flight_bound == 7


def test_arrival_mode_is_refused_where_it_has_no_meaning() -> None:
    for scenario in ("endurance", "scalability"):
        with pytest.raises(LoadError, match="arrival mode runs the load, spike, chaos scenarios only"):
            plan_for(scenario, "smoke", mode="arrival")
    with pytest.raises(LoadError, match="unknown load mode 'open'"):
        plan_for("load", "smoke", mode="open")
    with pytest.raises(LoadError, match="needs a request rate above 0"):
        list(shapes.arrival_times(shapes.constant(1, 1.0), 0))


def test_a_closed_plan_keeps_its_dict_and_its_regression_signature() -> None:
    closed, arrival = plan_for("load", "smoke"), plan_for("load", "smoke", mode="arrival")
    assert "mode" not in closed.as_dict() and closed.mode == "closed" and closed.in_flight == 0
    assert arrival.as_dict()["mode"] == "arrival" and arrival.as_dict()["in_flight"] == arrival.in_flight_bound
    assert plan_signature(closed) != plan_signature(arrival)
    assert plan_for("load", "smoke", {"in_flight": 5}).in_flight == 0, "a closed plan has no in-flight bound"


# ---------------------------------------------------------------------- corrected percentiles, synthetic stall


def _stalled_lines(seconds: int = 10, rate: float = 100.0, connections: int = 1, service_ms: float = 2.0,
                   stall_ms: float = 300.0, every_s: float = 2.0) -> tuple[list[dict[str, Any]], list[float],
                                                                              list[float]]:
    """What a Locust process writes for an open schedule against a target that pauses: a request waits for a free
    connection, then for the pause to end. Returns the sample lines and the exact uncorrected / corrected times."""
    free = [0.0] * connections
    server_free = 0.0
    by_second: dict[int, dict[str, Any]] = {}
    sent_ms, corrected_ms = [], []
    for k in range(int(seconds * rate)):
        due = k / rate
        slot = min(range(connections), key=free.__getitem__)
        send = max(due, free[slot])
        start = max(send, server_free)
        pause = math.floor(start / every_s) * every_s
        if pause > 0 and pause <= start < pause + stall_ms / 1000:
            start = pause + stall_ms / 1000
        end = start + service_ms / 1000
        free[slot] = server_free = end
        sent_ms.append((end - send) * 1000)
        corrected_ms.append((end - due) * 1000)
        entry = by_second.setdefault(int(end), {"n": 0, "sum": 0.0, "max": 0.0, "h": Histogram(), "hc": Histogram()})
        entry["n"] += 1
        entry["sum"] += sent_ms[-1]
        entry["max"] = max(entry["max"], sent_ms[-1])
        entry["h"].add(sent_ms[-1])
        entry["hc"].add(corrected_ms[-1])
    lines = [{"t": second, "role": "local", "users": connections, "first": second, "last": second + 0.99,
              "endpoints": {"GET /x": {**e, "h": e["h"].as_json(), "hc": e["hc"].as_json()}}}
             for second, e in sorted(by_second.items())]
    return lines, sent_ms, corrected_ms


def _arrival_plan(seconds: float = 10) -> Plan:
    return Plan("load", "smoke", shapes.constant(1, seconds), rate_per_user=100.0, mode="arrival")


def test_on_a_synthetic_stall_the_corrected_percentiles_are_exact_and_far_above_the_uncorrected_ones() -> None:
    lines, sent_ms, corrected_ms = _stalled_lines()
    run = RunResult(plan=_arrival_plan(), samples=merge_samples(lines, 0.0, corrected=True), started=0.0, ended=10.0)
    total = run.total
    for q in (50, 95, 99):
        assert total.p_corrected(q) == pytest.approx(_exact(corrected_ms, q), rel=0.005)
        assert total.p_uncorrected(q) == pytest.approx(_exact(sent_ms, q), rel=0.005)
    assert total.p(99) == total.p_corrected(99) > 100 > 10 * total.p_uncorrected(99)
    assert _exact(corrected_ms, 99) > 200 and _exact(sent_ms, 99) < 10  # the pause hides from the send times


def test_arrival_mode_gates_the_corrected_p99_and_records_the_uncorrected_one_beside_it() -> None:
    lines, _, _ = _stalled_lines()
    run = RunResult(plan=_arrival_plan(), samples=merge_samples(lines, 0.0, corrected=True), started=0.0, ended=10.0)
    p99 = gates.p99_gate(run, BASE)
    assert p99.status == "fail" and p99.value == pytest.approx(run.total.p_corrected(99), abs=0.001)
    assert "p99 from the intended start (corrected)" in p99.message and "from the actual send (uncorrected)" in p99.message
    ev = evaluate(run, _arrival_plan(), BASE)
    shown = {f.figure: f for f in ev.findings if f.check == "load-latency-uncorrected"}
    assert set(shown) == {"p95_ms_uncorrected", "p99_ms_uncorrected"} and all(f.status == "info" for f in shown.values())
    assert shown["p99_ms_uncorrected"].value == pytest.approx(run.total.p_uncorrected(99), abs=0.001)
    assert ev.figures["p99_ms"] > 10 * ev.figures["p99_ms_uncorrected"] and ev.figures["mode"] == "arrival"
    summary = run.summary()
    assert summary["p99_ms"] > summary["p99_ms_uncorrected"] and summary["dropped_iterations"] == 0


def test_closed_mode_still_judges_the_times_from_the_actual_send() -> None:
    lines, sent_ms, _ = _stalled_lines()
    closed = Plan("load", "smoke", shapes.constant(1, 10.0), rate_per_user=100.0)
    run = RunResult(plan=closed, samples=merge_samples(lines, 0.0), started=0.0, ended=10.0)
    assert run.total.p(99) == pytest.approx(_exact(sent_ms, 99), rel=0.005)
    assert "uncorrected" not in json.dumps(run.summary()) and "corrected" not in gates.p99_gate(run, BASE).message
    old = [{**line, "endpoints": {k: {f: v for f, v in e.items() if f != "hc"} for k, e in line["endpoints"].items()}}
           for line in lines]  # lines without the second histogram read as before
    assert merge_samples(old, 0.0)[0].total.p(95) == merge_samples(lines, 0.0)[0].total.p(95)


def test_closed_mode_runs_the_gates_it_always_ran_and_arrival_mode_adds_its_own() -> None:
    lines, _, _ = _stalled_lines()
    closed = Plan("load", "smoke", shapes.constant(1, 10.0), rate_per_user=100.0)
    closed_run = RunResult(plan=closed, samples=merge_samples(lines, 0.0), started=0.0, ended=10.0)
    closed_checks = [f.check for f in evaluate(closed_run, closed, BASE).findings]
    assert closed_checks == ["load-run-invalid", "load-generator-saturated", "load-p95", "load-p99", "load-error-rate",
                             "load-throughput", "load-window"]
    arrival_run = RunResult(plan=_arrival_plan(), samples=merge_samples(lines, 0.0, corrected=True), started=0.0,
                            ended=10.0)
    arrival_checks = [f.check for f in evaluate(arrival_run, _arrival_plan(), BASE).findings]
    assert arrival_checks == ["load-run-invalid", "load-generator-saturated", "load-dropped-iterations", "load-p95",
                              "load-p99", "load-latency-uncorrected", "load-latency-uncorrected", "load-error-rate",
                              "load-throughput", "load-window"]


# ---------------------------------------------------------------------- dropped iterations


def test_a_dropped_iteration_makes_the_run_invalid_and_keeps_it_out_of_the_history(tmp_path: Path) -> None:
    lines, _, _ = _stalled_lines(seconds=4)
    lines[1]["dropped"] = 3
    plan = _arrival_plan(4)
    run = RunResult(plan=plan, samples=merge_samples(lines, 0.0, corrected=True), started=0.0, ended=4.0)
    finding = gates.dropped_iterations_gate(run)
    assert (finding.check, finding.status, finding.value) == ("load-dropped-iterations", "inconclusive", 3)
    assert finding.message.startswith("run invalid: 3 dropped iterations of 400 planned (first at t=1 s)")
    history = gates.History(tmp_path, "load-smoke-local")
    ev = evaluate(run, plan, BASE, history=history)
    assert "dropped iterations" in ev.invalid and not ev.passed
    assert history.runs() == [], "an invalid run is never stored, green or not"
    del lines[1]["dropped"]
    clean = RunResult(plan=plan, samples=merge_samples(lines, 0.0, corrected=True), started=0.0, ended=4.0)
    assert gates.dropped_iterations_gate(clean).status == "info"


# ---------------------------------------------------------------------- end to end, smoke-sized


def test_a_tiny_in_flight_bound_against_a_slow_target_errors_and_stores_no_green_run(
        run_scenario, locust_children, pytester: pytest.Pytester) -> None:
    run = run_scenario("load", *ARRIVAL, "--artemis-load-param", "in_flight=2", marker_args="(users=5, requests=20)",
                       faults={"latency_ms": 200})
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines(["*RunInvalidError: load run invalid: * dropped iterations of 100 planned*",
                                     "*MISSION VERDICT: NO-GO*"])
    runs = [r for path in (pytester.path / "history").glob("*.json") for r in json.loads(path.read_text())["runs"]]
    assert not [r for r in runs if r.get("green")]
    assert not locust_children(pytester.path)


def test_with_the_stall_fault_an_arrival_run_shows_the_corrected_p99_well_above_the_uncorrected_one(
        run_scenario, locust_children, pytester: pytest.Pytester) -> None:
    run = run_scenario("load", *ARRIVAL, marker_args="(users=1, requests=600, rate=100)",
                       faults={"stall_ms": 300, "stall_every_s": 2})
    run.result.assert_outcomes(passed=1)
    corrected, uncorrected = run.measurement("load p99_ms")["value"], run.measurement("load p99_ms_uncorrected")["value"]
    assert corrected >= 150 and corrected > 5 * uncorrected, (corrected, uncorrected)
    run.result.stdout.fnmatch_lines(["*p99_ms  * ms  <= * ms  *ok", "*p99_ms_uncorrected * ms  <= * ms  *-"])
    summary = run.measurement("load summary")["details"]
    assert summary["mode"] == "arrival" and summary["dropped_iterations"] == 0 and summary["p99_ms_uncorrected"]
    assert not locust_children(pytester.path)


def test_arrival_mode_with_two_workers_splits_the_schedule_between_them(run_scenario, locust_children,
                                                                       pytester: pytest.Pytester) -> None:
    run = run_scenario("load", *ARRIVAL, "--artemis-workers", "2")
    run.result.assert_outcomes(passed=1)
    assert run.measurement("load summary")["value"] == 300  # 10 users x 30 requests: the budget, exactly
    run_dir = Path(run.measurement("load locust processes")["details"]["run_dir"])
    sent = {}
    for role in ("worker-1", "worker-2"):
        lines = [json.loads(line) for line in (run_dir / f"samples-{role}.jsonl").read_text().splitlines()]
        sent[role] = sum(e["n"] for line in lines if "t" in line for e in line["endpoints"].values())
    assert sent == {"worker-1": 150, "worker-2": 150}
    assert not locust_children(pytester.path)


def test_a_spike_runs_its_staged_rates_in_arrival_mode(run_scenario, locust_children,
                                                      pytester: pytest.Pytester) -> None:
    run = run_scenario("spike", *ARRIVAL)
    run.result.assert_outcomes(passed=1)
    plan = plan_for("spike", "smoke", mode="arrival")
    assert run.measurement("spike summary")["value"] == plan.planned_requests  # 3 s x 20 + 3 s x 100 + 6 s x 20
    assert run.measurement("spike recovery_seconds")["passed"]
    assert not locust_children(pytester.path)
