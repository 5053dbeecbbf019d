"""Support of the probe tests: run the probes suite through pytester against the reference service or a variant.

:func:`run_suite` copies ``suites/test_probes_smoke.py`` (and the manifest named, when it is one of
``tests/probes/data``) into the pytester directory, writes a conftest that swaps the session's target for the
variant of ``variant_service.py`` (when ``variant_env`` or ``faults`` is given) or sets
``artemis_reference_options``, and runs the suite on the smoke profile; it returns the outcome, the output and
the verdict file (:class:`SuiteRun`). Paths go as ``--option=PATH``: a path after a space would move pytest's
rootdir away from the pytester directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import pytest
from verdict_runs import VerdictRun

matplotlib.use("Agg")
import matplotlib.pyplot  # once here: numpy cannot be imported again by an in-process run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SUITE = ROOT / "suites" / "test_probes_smoke.py"
KIT = ROOT / "manifests" / "base"
KIT_DEPLOYMENT = KIT / "deployment.yaml"
DATA = HERE / "data"

try:  # load httpx's lazily imported transport modules once, so in-process pytester runs share their classes
    httpx.get("http://127.0.0.1:9/", timeout=0.2)
except httpx.HTTPError:
    pass

_VARIANT = '''
import sys

import pytest

sys.path.insert(0, {here!r})
from variant_service import start_variant

from pytest_artemis.fixtures.services import services_log_dir


@pytest.fixture(scope="session")
def artemis_target(artemis_session_dir):
    started = start_variant(services_log_dir(artemis_session_dir), env={env!r}, faults={faults!r})
    yield started
    started.stop()
'''

_OPTIONS = '''
import pytest


@pytest.fixture(scope="session")
def artemis_reference_options():
    return {options!r}
'''


def line_of(path: Path, text: str, after: str = "") -> int:
    """The 1-based line of the first line holding ``text`` (after the first holding ``after``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


class SuiteRun(VerdictRun):
    """The outcome of one run of the probes suite: pytester's result, its output and the verdict."""

    def outcome(self, test: str) -> str:
        found = [t["outcome"] for t in self.verdict["tests"] if t["nodeid"].split("::")[-1] == test]
        assert found, f"no test {test}; have {[t['nodeid'] for t in self.verdict['tests']]}"
        return found[0]


def run_suite(pytester: pytest.Pytester, *args: str, tests: Sequence[str] = (), manifests: Path = KIT,
              variant_env: Mapping[str, str] | None = None, faults: Mapping[str, Any] | None = None,
              reference_options: Mapping[str, Any] | None = None, target: str | None = None) -> SuiteRun:
    """Run the probes suite (see the module docstring): the ``tests`` named (every parameter of each), else all
    but the Prometheus ones; extra positional arguments go to pytest."""
    shutil.copy(SUITE, pytester.path / SUITE.name)
    if manifests.parent == DATA:
        manifests = Path(shutil.copy(manifests, pytester.path / manifests.name))
    conftest = ""
    if variant_env is not None or faults is not None:
        conftest += _VARIANT.format(here=str(HERE), env=dict(variant_env or {}), faults=dict(faults or {}))
    if reference_options is not None:
        conftest += _OPTIONS.format(options=dict(reference_options))
    if conftest:
        pytester.makeconftest(conftest)
    chosen = [f"{SUITE.name}::{name}" for name in tests] or [SUITE.name, "-k", "not prometheus"]
    options = [*chosen, "-m", "probes", f"--artemis-manifests={manifests}",
               "--artemis-profile", "smoke", "--artemis-verdict", "verdict.json", "--artemis-history", "history",
               "--artemis-artifacts", "artifacts", "-p", "no:cacheprovider", "-p", "pytest_artemis.fixtures.probes",
               "-rs"]
    if target is not None:
        options += ["--artemis-target", target]
    result = pytester.runpytest(*options, *args)
    verdict = json.loads((pytester.path / "verdict.json").read_text(encoding="utf-8"))
    return SuiteRun(result, verdict)
