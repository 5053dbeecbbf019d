"""Fixtures of the probe tests: ``run_probes(...)`` runs the probes suite through pytester (probes_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from probes_support import SuiteRun, run_suite


@pytest.fixture
def run_probes(pytester: pytest.Pytester) -> Callable[..., SuiteRun]:
    """``run_probes(*pytest_args, select=, manifests=, variant_env=, faults=, reference_options=, target=)``."""

    def run(*args: str, **options: object) -> SuiteRun:
        return run_suite(pytester, *args, **options)  # type: ignore[arg-type]

    return run
