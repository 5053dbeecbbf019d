"""``artemis-report --allure``: the single-file Allure HTML with the Allure command line, or one clear line
saying how to install it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _report(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.report_cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_allure_html_without_the_command_line_says_how_to_install_it(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "allure"
    results.mkdir()
    (results / "x-result.json").write_text("{}")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    done = subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.report_cli", "--allure", str(results),
                           "-o", str(tmp_path / "a.html")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False, env={"PATH": str(tmp_path / "nothing")})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], "one line"
    assert "not installed" in done.stderr and "ARTEMIS_ALLURE=1" in done.stderr


def test_allure_html_of_an_empty_directory_names_the_missing_results(tmp_path: Path) -> None:
    done = _report("--allure", str(tmp_path), "-o", str(tmp_path / "a.html"), cwd=tmp_path)
    assert done.returncode == 2 and "holds no Allure results" in done.stderr


@pytest.mark.skipif(shutil.which("allure") is None or shutil.which("java") is None,
                    reason="the Allure command line and Java 17 are not installed (ARTEMIS_ALLURE=1 ci/setup.sh)")
def test_allure_html_is_one_file_built_from_a_real_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.probes\ndef test_ok():\n    pass\n")
    pytester.runpytest("--alluredir", "allure", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    done = _report("--allure", "allure", "-o", "allure.html", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    assert (pytester.path / "allure.html").stat().st_size > 10_000
