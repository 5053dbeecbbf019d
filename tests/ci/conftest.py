"""The pipeline's own tests (tests/ci): the marker of the slow ones. Helpers are in ci_support.py."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "packaging: builds distributions or creates virtual environments (about 5-20 s each with uv's cache "
        "warm, as after ci/setup.sh; more when it must download the locked wheels); part of every .ci/run, "
        "deselect with -m 'not packaging'")
