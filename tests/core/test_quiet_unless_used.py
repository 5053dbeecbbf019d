"""Installed in any environment, the plugin changes nothing where no Artemis option, marker, fixture or gate
path is used; where it is used, each session writes under its own bounded artifact directory."""

from __future__ import annotations

import json
import signal

import pytest

PLAIN = """
import pytest

def test_one():
    assert True

@pytest.mark.parametrize("n", [1, 2])
def test_two(n):
    assert n
"""


def _body(result: pytest.RunResult) -> list[str]:
    """The output without the header lines that name plugins, timings and paths."""
    skip = ("platform ", "rootdir:", "plugins:", "cachedir:", "benchmark:", "configfile:", "hypothesis ")
    return [line.split(" in ")[0] for line in result.outlines if not line.startswith(skip)]


def test_an_unrelated_project_sees_the_same_output_as_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PLAIN)
    with_plugin = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    without = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:artemis")
    with_plugin.assert_outcomes(passed=3)
    assert "MISSION STATUS" not in with_plugin.stdout.str()
    assert _body(with_plugin) == _body(without)
    assert not (pytester.path / ".artemis").exists()


def test_an_unrelated_project_gets_no_signal_handlers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import signal

        def test_handlers_are_python_defaults():
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("how", [["--artemis-profile", "smoke"], ["-m", "probes"]], ids=["an option", "a marker"])
def test_an_artemis_option_or_marker_turns_the_mission_status_on(pytester: pytest.Pytester, how: list[str]) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_p():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *how)
    result.stdout.fnmatch_lines(["*ARTEMIS MISSION STATUS*", "*MISSION VERDICT: GO*"])


def test_an_artemis_fixture_turns_the_mission_status_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses(artemis_config):\n    assert artemis_config.profile == 'ci'\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").stdout.fnmatch_lines(["*ARTEMIS MISSION STATUS*"])


def test_collect_only_prints_no_mission_status_and_writes_no_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_p():\n    pass\n")
    result = pytester.runpytest("--co", "--artemis-verdict", "v.json", "-p", "no:cacheprovider")
    assert "MISSION STATUS" not in result.stdout.str()
    assert json.loads((pytester.path / "v.json").read_text())["verdict"] == "NO-GO"


def test_twelve_sessions_leave_the_last_ten_session_directories(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_writes(artemis_artifacts):\n    (artemis_artifacts / 'x.txt').write_text('x')\n")
    names = []
    for _ in range(12):
        pytester.runpytest("-p", "no:cacheprovider", "--artemis-verdict", "v.json").assert_outcomes(passed=1)
        names.append(json.loads((pytester.path / "v.json").read_text())["session_dir"])
    kept = sorted(p for p in (pytester.path / ".artemis" / "artifacts").iterdir() if p.is_dir())
    assert len(kept) == 10 and len(set(names)) == 12
    assert [str(p) for p in kept] == names[2:], "the oldest two are removed, the newest ten kept"


def test_keep_sessions_bounds_the_session_directories(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_writes(artemis_artifacts):\n    pass\n")
    for _ in range(3):
        pytester.runpytest("-p", "no:cacheprovider", "--artemis-keep-sessions", "2").assert_outcomes(passed=1)
    assert len([p for p in (pytester.path / ".artemis" / "artifacts").iterdir() if p.is_dir()]) == 2


def test_sigterm_handler_is_installed_only_for_a_session_that_uses_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import signal

        def test_handler(artemis_config):
            assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert signal.SIGTERM  # the handler above belongs to the child session only
