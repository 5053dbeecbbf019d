"""Bad inputs end in one clear line, send no load and leave no Locust process behind."""

from __future__ import annotations

import pytest

from pytest_artemis.services.processes import free_port


def test_an_unreachable_target_errors_before_any_load_is_sent(run_scenario, locust_children, pytester) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = run_scenario("load", "--artemis-target", url)
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines([f"*TargetUnreachableError: *{url}*Connection refused*"])
    assert not list(pytester.path.glob("artifacts/**/samples-*.jsonl")) and not locust_children(pytester.path)


def test_a_target_whose_health_check_fails_gets_no_load(run_scenario, locust_children, pytester) -> None:
    run = run_scenario("load", faults={"readiness_down": True})
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines([("*preflight: GET http://127.0.0.1:*/health/ready answered HTTP 503; "
                                     "no load was sent*")])
    assert not list(pytester.path.glob("artifacts/**/samples-*.jsonl")) and not locust_children(pytester.path)


@pytest.mark.parametrize(("source", "expected"), [
    ("from locust import HttpUser, task\nclass Broken(HttpUser)\n    pass\n",
     "*locustfile *bad_locustfile.py line 2: SyntaxError*"),
    ("from locust import task\nvalue = 1\n", "*bad_locustfile.py: defines no Locust user class*"),
    ("import no_such_module_here\n", "*bad_locustfile.py line 1: ModuleNotFoundError*no_such_module_here*"),
])
def test_a_bad_locustfile_is_named_with_its_problem_and_no_process_is_left(run_scenario, locust_children, pytester,
                                                                             source: str, expected: str) -> None:
    (pytester.path / "bad_locustfile.py").write_text(source)
    for workers in ("0", "2"):
        run = run_scenario("load", "--artemis-locustfile", "bad_locustfile.py", "--artemis-workers", workers)
        run.result.assert_outcomes(errors=1)
        run.result.stdout.fnmatch_lines([expected])
        assert run.pids() and not locust_children(pytester.path)


@pytest.mark.parametrize(("args", "expected"), [
    (["--artemis-load-param", "users=0"], "*--artemis-load-param got 'users=0'; it accepts users='0': must be between 1 and 5000*"),
    (["--artemis-load-param", "warp=9"], "*--artemis-load-param got 'warp=9'; it accepts 'warp' is unknown*"),
])
def test_invalid_scenario_values_on_the_command_line_are_usage_errors(run_scenario, args: list[str],
                                                                       expected: str) -> None:
    run = run_scenario("load", *args)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines([expected])


def test_invalid_values_in_a_scenario_marker_error_the_test(run_scenario, locust_children, pytester) -> None:
    run = run_scenario("scalability", marker_args="(users=5, max_users=2)")
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines(["*scalability: max_users 2 is below the first step of 5 users*"])
    assert not locust_children(pytester.path)


def test_a_production_target_is_refused_without_the_explicit_permission(run_scenario, pytester) -> None:
    run = run_scenario("load", "--artemis-environment", "production")
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines([("*load refused: --artemis-environment is production; "
                                     "pass --artemis-allow-production-load to allow it")])
    assert "load load" not in run.output and "Traceback" not in run.output
    assert not list(pytester.path.glob("artifacts/**/samples-*.jsonl"))
