"""Baselines: the bundled seed figures, resolution per environment/scenario/endpoint, and bad files named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_artemis.baselines import load_baselines
from pytest_artemis.errors import BaselineError

CORE = "p95_ms: 1000, p99_ms: 2000, error_rate_percent: 1, throughput_rps: 100, availability_percent: 99.5"


def test_the_bundled_file_carries_the_seed_figures_and_production_is_stricter() -> None:
    baselines = load_baselines()
    local, production = baselines.for_("local"), baselines.for_("production")
    assert (local.p95_ms, local.error_rate_percent, local.throughput_rps, local.availability_percent) == \
        (1000, 1.0, 100, 99.5)
    assert (production.p95_ms, production.error_rate_percent, production.availability_percent) == (500, 0.5, 99.9)


def test_production_figures_win_over_a_scenarios_generic_allowance() -> None:
    chaos = load_baselines().for_("production", "chaos")
    assert chaos.availability_percent == 99.9
    assert chaos.get("recovery_seconds") == 15
    assert load_baselines().for_("local", "chaos").availability_percent == 95.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"version: 1\ndefaults: {{{CORE}, p96_ms: 3}}\n",
         "defaults: Unevaluated properties are not allowed ('p96_ms' was unexpected)"),
        ("version: 1\ndefaults: {p95_ms: fast}\n", "defaults.p95_ms: 'fast' is not of type 'number'"),
        ("version: 1\ndefaults: {p95_ms: 10}\n", "defaults: 'p99_ms' is a required property"),
        (f"version: 1\ndefaults: {{{CORE}}}\nenvironments:\n  production: {{p95_ms: -1}}\n",
         "environments.production.p95_ms: -1 is less than or equal to the minimum of 0"),
        (f"version: 1\ndefaults: {{{CORE}}}\nenvironments:\n  staging: {{foo: 3}}\n",
         "environments.staging: Unevaluated properties are not allowed ('foo' was unexpected)"),
        (f"version: 1\ndefaults: {{{CORE}}}\nenvironments:\n  moon: {{p95_ms: 3}}\n",
         "environments: 'moon' is not one of ['local', 'staging', 'production']"),
        (f"version: 1\ndefaults: {{{CORE}}}\nscenarios:\n  soak: {{p95_ms: 3}}\n",
         "scenarios: 'soak' is not one of ['load', 'spike', 'endurance', 'scalability', 'chaos']"),
        (f"version: 1\ndefaults: {{{CORE}}}\nendpoints:\n  /api: {{p95_ms: 3}}\n",
         "endpoints: '/api' does not match"),
        (f"version: 2\ndefaults: {{{CORE}}}\n", "version: 1 was expected"),
        ("", "(top level): None is not of type 'object'"),
    ],
    ids=["unknown-key", "not-a-number", "core-figure-missing", "negative-in-environment", "unknown-environment-key",
         "unknown-environment", "unknown-scenario", "endpoint-without-method", "wrong-version", "empty-file"],
)
def test_an_invalid_baselines_file_names_the_key_and_the_problem(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "baselines.yaml"
    path.write_text(body)
    with pytest.raises(BaselineError) as excinfo:
        load_baselines(path)
    assert f"baselines file {path} is invalid" in str(excinfo.value)
    assert expected in str(excinfo.value)


def test_broken_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "baselines.yaml"
    path.write_text("version: 1\ndefaults: [\n")
    with pytest.raises(BaselineError, match=r"baselines file .*baselines\.yaml line 3: not valid YAML"):
        load_baselines(path)


def test_a_bad_baselines_file_stops_the_session_with_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", baselines="version: 1\ndefaults: {p95_ms: fast}\n")
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError('ran')\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--artemis-baselines", "baselines.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baselines file baselines.yaml is invalid:*",
                                 "*defaults.p95_ms: 'fast' is not of type 'number'*"])


def test_the_baseline_fixture_follows_the_environment_scenario_marker_and_endpoint(
        pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", baselines=textwrap.dedent(f"""\
        version: 1
        defaults: {{{CORE}, tolerance_percent: 10}}
        endpoints:
          "GET /api/v1/missions": {{p95_ms: 200}}
        scenarios:
          spike: {{p95_ms: 1500, recovery_seconds: 20}}
        environments:
          staging:
            p95_ms: 800
            scenarios:
              spike: {{recovery_seconds: 12}}
    """))
    pytester.makepyfile(textwrap.dedent("""\
        import pytest

        def test_unmarked(baseline):
            assert (baseline.environment, baseline.scenario, baseline.p95_ms) == ("staging", None, 800)
            assert baseline.limit_with_tolerance("p95_ms") == pytest.approx(880)
            assert baseline.for_endpoint("GET /api/v1/missions") == {"p95_ms": 200}
            assert baseline.for_endpoint("POST /api/v1/missions") == {}

        @pytest.mark.spike
        def test_spike(baseline):
            assert (baseline.scenario, baseline.p95_ms, baseline.get("recovery_seconds")) == ("spike", 800, 12)
            assert baseline.get("knee_users") is None
    """))
    result = pytester.runpytest("-p", "no:cacheprovider", "--artemis-baselines", "baselines.yaml",
                                "--artemis-environment", "staging")
    result.assert_outcomes(passed=2)
