"""Shared fixtures of the plugin's own tests (pytester is enabled in pyproject's addopts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_artemis.services.target.control import Target, start_reference_service

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """tests/data: small manifests, rules and dashboards the table-driven tests use."""
    return DATA


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A reference service on 127.0.0.1 for one test module (its log outside any session's directory)."""
    service = start_reference_service(tmp_path_factory.mktemp("reference-service"), base_env=os.environ)
    try:
        yield service
    finally:
        service.stop()
