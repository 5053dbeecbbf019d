"""Helpers of the load tests: run a scenario through pytester and read its verdict; find leftover Locust children."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import psutil
import pytest
from verdict_runs import VerdictRun

matplotlib.use("Agg")
import httpx
import matplotlib.pyplot

try:  # load httpx's lazily imported transport modules once, so in-process pytester runs share their classes
    httpx.get("http://127.0.0.1:9/", timeout=0.2)
except httpx.HTTPError:
    pass

SUITE = '''
import pytest

@pytest.mark.{scenario}{marker_args}
{parametrize}def test_{scenario}_scenario(load_exercise{extra}):
    load_exercise.assert_gates()
'''


def _locust_children(under: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info.get("cmdline") or [])
        if "pytest_artemis.load.child" in cmdline and str(under) in cmdline:
            found.append(process)
    return found


@pytest.fixture
def locust_children() -> Callable[[Path], list[psutil.Process]]:
    """``locust_children(path)``: live Locust child processes whose run directory lies under ``path``."""
    return _locust_children


class ScenarioRun(VerdictRun):
    """One load scenario's inner session, with the pids of the Locust processes it started."""

    def pids(self) -> list[int]:
        return [pid for m in self.verdict.get("measurements", []) if m["name"].endswith("locust processes")
                for pid in m["details"]["pids"]]


@pytest.fixture
def run_scenario(pytester: pytest.Pytester) -> Callable[..., ScenarioRun]:
    """Write a one-test suite for ``scenario`` and run it on the smoke profile; returns outcome and verdict."""

    def run(scenario: str, *args: str, marker_args: str = "", faults: dict[str, Any] | None = None,
            baselines: str | None = None, source: str | None = None) -> ScenarioRun:
        parametrize, extra = "", ""
        if faults is not None:
            parametrize = f"@pytest.mark.parametrize('load_faults', [{faults!r}], indirect=True)\n"
        pytester.makepyfile(**{f"test_{scenario}_suite": source or SUITE.format(
            scenario=scenario, marker_args=marker_args, parametrize=parametrize, extra=extra)})
        options = ["--artemis-profile", "smoke", "--artemis-verdict", "verdict.json",
                   "--artemis-history", "history", "--artemis-artifacts", "artifacts", "-p", "no:cacheprovider"]
        if baselines is not None:
            (pytester.path / "baselines.yaml").write_text(baselines)
            options += ["--artemis-baselines", "baselines.yaml"]
        result = pytester.runpytest(*options, *args)
        path = pytester.path / "verdict.json"
        verdict = json.loads(path.read_text()) if path.exists() else {}
        return ScenarioRun(result, verdict)

    return run
