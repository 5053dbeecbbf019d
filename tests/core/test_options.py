"""Options: precedence CLI > ini > env > default, and bad values failing fast with a named option."""

from __future__ import annotations

import pytest

SHOW_CONFIG = """
def test_show(artemis_config):
    print("PROFILE=" + artemis_config.profile)
    print("WORKERS=" + str(artemis_config.workers))
    print("TARGET=" + str(artemis_config.target))
"""


@pytest.fixture
def show(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_show=SHOW_CONFIG)
    return pytester


def test_the_default_profile_is_ci(show: pytest.Pytester) -> None:
    result = show.runpytest("-s")
    result.stdout.fnmatch_lines(["*PROFILE=ci*", "*WORKERS=0*", "*TARGET=None*"])


def test_the_environment_variable_sets_an_option(show: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTEMIS_PROFILE", "full")
    show.runpytest("-s").stdout.fnmatch_lines(["*PROFILE=full*"])


def test_the_ini_key_wins_over_the_environment(show: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTEMIS_PROFILE", "full")
    show.makeini("[pytest]\nartemis_profile = smoke\nartemis_workers = 2\n")
    show.runpytest("-s").stdout.fnmatch_lines(["*PROFILE=smoke*", "*WORKERS=2*"])


def test_the_command_line_wins_over_ini_and_environment(show: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTEMIS_PROFILE", "full")
    show.makeini("[pytest]\nartemis_profile = smoke\n")
    show.runpytest("-s", "--artemis-profile", "ci").stdout.fnmatch_lines(["*PROFILE=ci*"])


def test_a_url_with_a_trailing_slash_is_normalised(show: pytest.Pytester) -> None:
    show.runpytest("-s", "--artemis-target", "http://127.0.0.1:9/").stdout.fnmatch_lines(["*TARGET=http://127.0.0.1:9"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--artemis-profile", "huge"], "*--artemis-profile got 'huge'; it accepts one of smoke, ci, full*"),
        (["--artemis-environment", "prod"], "*--artemis-environment got 'prod'; it accepts one of local, staging, production*"),
        (["--artemis-target", "localhost:8000"], "*--artemis-target got 'localhost:8000'; it accepts an absolute http://*"),
        (["--artemis-prometheus", "http://h:99999"], "*--artemis-prometheus got*numeric port*"),
        (["--artemis-baselines", "missing.yaml"], "*--artemis-baselines got 'missing.yaml'; it accepts a readable file*"),
        (["--artemis-workers", "-1"], "*--artemis-workers got '-1'; it accepts a whole number from 0*"),
        (["--artemis-namespace", "Bad_NS"], "*--artemis-namespace got 'Bad_NS'; it accepts a Kubernetes name*"),
        (["--artemis-k8s-version", "latest"], "*--artemis-k8s-version got 'latest'; it accepts a Kubernetes version*"),
        (["--artemis-kubeconfig", "nowhere"], "*--artemis-kubeconfig got 'nowhere'*readable file*"),
        (["--artemis-loadgen-image", "Not An Image"], ("*--artemis-loadgen-image got 'Not An Image'; it accepts a "
                                                      "container image reference*")),
        (["--artemis-workers-in-cluster"], "*--artemis-workers-in-cluster needs --artemis-workers N (N >= 1)*"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_the_option(
    show: pytest.Pytester, args: list[str], message: str
) -> None:
    result = show.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_bad_environment_variable_names_the_variable(show: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTEMIS_ENVIRONMENT", "moon")
    result = show.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable ARTEMIS_ENVIRONMENT got 'moon'*"])


def test_a_bad_ini_value_names_the_ini_key(show: pytest.Pytester) -> None:
    show.makeini("[pytest]\nartemis_fail_on = sometimes\n")
    result = show.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key artemis_fail_on got 'sometimes'*"])


def test_the_config_is_frozen(show: pytest.Pytester) -> None:
    show.makepyfile(
        test_frozen="""
        import dataclasses, pytest
        def test_frozen(artemis_config):
            with pytest.raises(dataclasses.FrozenInstanceError):
                artemis_config.profile = "full"
        """
    )
    show.runpytest("test_frozen.py").assert_outcomes(passed=1)


def test_help_shows_the_artemis_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*pytest-artemis release gates*", "*--artemis-target=URL*", "*--artemis-profile*"])


def test_every_marker_is_registered_with_a_description(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    for marker in ("manifests", "probes", "rules", "dashboards", "load", "spike", "endurance",
                   "scalability", "chaos", "cluster", "rollout", "smoke"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{marker}: ?*"])


def test_strict_markers_accept_the_artemis_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.spike
        @pytest.mark.smoke
        def test_marked():
            pass
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_a_test_with_markers_of_two_families_must_name_its_family(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.spike
        @pytest.mark.rollout
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([("*test_marked: carries markers of the gate families load, rollout; name its "
                                 "family with @pytest.mark.artemis_family(\"NAME\")*")])


def test_a_test_that_names_its_family_is_counted_there_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.spike
        @pytest.mark.rollout
        @pytest.mark.artemis_family("rollout")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--artemis-verdict", "v.json")
    result.assert_outcomes(passed=1)
    import json
    assert list(json.loads((pytester.path / "v.json").read_text())["gates"]) == ["rollout"]


def test_a_gate_path_given_on_the_command_line_must_exist(show: pytest.Pytester) -> None:
    result = show.runpytest("--artemis-manifests", "typo/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--artemis-manifests got */typo; it accepts existing files or directories*"])


def test_a_default_gate_path_that_does_not_exist_is_left_out_quietly(show: pytest.Pytester) -> None:
    show.runpytest().assert_outcomes(passed=1)


def test_relative_command_line_paths_are_taken_from_where_pytest_was_started(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nartemis_dashboards = boards\n")
    (pytester.path / "boards").mkdir()
    work = pytester.mkdir("work")
    (work / "kit").mkdir()
    (work / "test_paths.py").write_text(
        "def test_paths(artemis_config):\n"
        "    print('MANIFESTS=' + ','.join(str(p) for p in artemis_config.manifests))\n"
        "    print('DASHBOARDS=' + ','.join(str(p) for p in artemis_config.dashboards))\n"
    )
    monkeypatch.chdir(work)
    result = pytester.runpytest("-s", "test_paths.py", "--artemis-manifests", "kit")
    result.stdout.fnmatch_lines([f"*MANIFESTS={work / 'kit'}", f"DASHBOARDS={pytester.path / 'boards'}"])
