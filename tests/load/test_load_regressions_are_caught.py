"""Gates catch regressions the reference service's fault switches inject; an A/A run passes."""

from __future__ import annotations

import shutil

STRICT_P95 = """
version: 1
defaults: {p95_ms: 100, p99_ms: 2000, error_rate_percent: 1.0, throughput_rps: 100, availability_percent: 99.5}
"""


def test_an_added_300_ms_latency_fails_the_p95_gate_and_the_unchanged_service_passes(run_scenario, locust_children,
                                                                                     pytester) -> None:
    run = run_scenario("load", baselines=STRICT_P95, source="""
        import pytest

        @pytest.mark.load
        def test_a_a_run(load_exercise):
            load_exercise.assert_gates()

        @pytest.mark.load
        @pytest.mark.parametrize("load_faults", [{"latency_ms": 300}], indirect=True)
        def test_slow_release(load_exercise):
            load_exercise.assert_gates()
    """)
    run.result.assert_outcomes(passed=1, failed=1)
    gates = run.measurements("load p95_ms")
    assert [g["passed"] for g in gates] == [True, False]
    assert gates[1]["value"] >= 300 and gates[1]["limit"] == 100
    run.result.stdout.fnmatch_lines(["*p95 3* ms > limit 100.0 ms over the whole run*"])
    assert not locust_children(pytester.path), "a failing run leaves no Locust process behind"
    # the failed gate is a finding with its measured value and limit, in the verdict and in MISSION STATUS
    [finding] = [f for f in run.verdict["findings"] if f["check"] == "load-p95"]
    assert finding["status"] == "fail" and finding["value"] >= 300 and finding["limit"] == 100
    assert finding["scenario"] == "load" and "test_slow_release" in finding["nodeid"]
    assert run.verdict["defcon"]["level"] == 2, "a live gate's failure is DEFCON 2"
    run.result.stdout.fnmatch_lines(["*findings on failed gates*", "*scenario load*",
                                     "*[[]critical] load-p95: p95 3* ms > limit 100.0 ms*"])


def test_two_percent_errors_fail_the_error_rate_gate(run_scenario) -> None:
    # 2,000 requests: 2 % errors stay above the 1 % limit with a margin of about 4.5 standard deviations
    run = run_scenario("load", "--artemis-load-param", "users=20", "--artemis-load-param", "requests=100",
                       "--artemis-load-param", "rate=20", faults={"error_ratio": 0.02})
    run.result.assert_outcomes(failed=1)
    gate = run.measurement("load error_rate_percent")
    assert gate["passed"] is False and 1.0 < gate["value"] < 4.0
    run.result.stdout.fnmatch_lines(["*error rate *% > limit 1.0 %*top error*500*"])


def test_memory_growth_fails_the_endurance_gate(run_scenario) -> None:
    run = run_scenario("endurance", faults={"memory_growth_mb_per_s": 2})
    run.result.assert_outcomes(failed=1)
    gate = run.measurement("endurance memory_growth_mb_per_minute")
    assert gate["passed"] is False and gate["value"] > 60
    run.result.stdout.fnmatch_lines(["*memory growth * MB/min > limit 5.0 MB/min*resident-memory samples*"])
    if shutil.which("prometheus"):  # read through the embedded Prometheus when there is one
        assert 'from Prometheus http://127.0.0.1:' in gate["details"]["message"]


def test_a_sustained_breach_aborts_the_run_early_with_the_window_that_broke_it(run_scenario) -> None:
    baselines = STRICT_P95.replace("availability_percent: 99.5}",
                                   "availability_percent: 99.5, window_seconds: 2, abort_after_seconds: 2}")
    run = run_scenario("load", "--artemis-load-param", "requests=150", baselines=baselines,  # 23.5 s planned
                       faults={"latency_ms": 300})
    run.result.assert_outcomes(failed=1)
    summary = run.measurement("load summary")["details"]
    assert summary["aborted"] and summary["duration_s"] < 12
    run.result.stdout.fnmatch_lines(["*run aborted: p95 3* ms > limit 100.0 ms in the 2 s window*sustained for 2 s*"])


def test_an_a_a_run_passes_the_regression_gate_and_a_slower_run_fails_it(run_scenario, pytester) -> None:
    baselines = """
version: 1
defaults: {p95_ms: 1000, p99_ms: 2000, error_rate_percent: 1.0, throughput_rps: 100, availability_percent: 99.5,
           regression_min_samples: 1, regression_tolerance_percent: 25, regression_noise_floor_ms: 30}
"""
    run = run_scenario("load", baselines=baselines, source="""
        import pytest

        @pytest.mark.load
        def test_1_first_green_run(load_exercise):
            load_exercise.assert_gates()

        @pytest.mark.load
        def test_2_the_same_build_again(load_exercise):
            load_exercise.assert_gates()

        @pytest.mark.load
        @pytest.mark.parametrize("load_faults", [{"latency_ms": 80}], indirect=True)
        def test_3_a_slower_release(load_exercise):
            load_exercise.assert_gates()
    """)
    run.result.assert_outcomes(passed=2, failed=1)
    first, again, slower = run.measurements("load p95_ms regression")
    assert (first["status"], first["limit"], first["details"]["green_runs"]) == ("info", None, 0)  # not judged
    assert (again["passed"], again["details"]["green_runs"]) == (True, 1) and again["limit"] is not None
    assert (slower["passed"], slower["details"]["green_runs"]) == (False, 2)
    run.result.stdout.fnmatch_lines(["*p95_ms * ms > last green median * ms*noise floor*"])
    assert (pytester.path / "history" / "load-smoke-local.json").is_file()


def test_a_per_endpoint_baseline_names_the_endpoint_that_broke_it(run_scenario) -> None:
    baselines = STRICT_P95.replace("p95_ms: 100", "p95_ms: 1000") + """
endpoints:
  "GET /api/v1/missions/{id}": {p95_ms: 0.001}
"""
    run = run_scenario("load", baselines=baselines)
    run.result.assert_outcomes(failed=1)
    gate = run.measurement("load GET /api/v1/missions/{id} p95_ms")
    assert gate["passed"] is False and gate["details"]["endpoint"] == "GET /api/v1/missions/{id}"
    assert [m["passed"] for m in run.measurements("load p95_ms")] == [True]
    run.result.stdout.fnmatch_lines(["*p95 * ms > limit 0.0 ms for GET /api/v1/missions/{id} (* requests)*"])


def test_a_saturated_load_generator_makes_the_test_an_error_not_a_verdict(run_scenario, pytester) -> None:
    pytester.makepyfile(hammer="""
        from locust import FastHttpUser, constant, task

        class Hammer(FastHttpUser):
            wait_time = constant(0)

            @task
            def live(self):
                self.client.get("/health/live")
                sum(range(200_000))  # heavy client-side work: the generator, not the target, is the bottleneck
    """)
    run = run_scenario("endurance", "--artemis-locustfile", "hammer.py", "--artemis-load-param", "duration=5",
                       "--artemis-load-param", "users=20")
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines([("*GeneratorSaturatedError: load generator saturated: Locust local ran above 90% "
                                     "CPU or with its event loop over 10 ms late for 2 s in a row*not the target*")])
    generator = run.measurement("endurance generator")
    assert generator["status"] == "inconclusive" and generator["passed"] is None, "an invalid run is never a pass"
    assert not [f for f in run.verdict["findings"] if f["status"] == "pass"]
