"""Shared fixtures of the plugin's own tests (pytester is enabled in pyproject's addopts)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """tests/data: small manifests, rules and dashboards the table-driven tests use."""
    return DATA
