"""Every registered check, of every area, is exercised: its id appears in a test or a test data file.

The list of ids comes from the registry (every area's module imported), the evidence from the files under
tests/; nothing here is written by hand.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from pytest_artemis.checks.registry import REGISTRY

TESTS = Path(__file__).resolve().parents[1]
for _module in ("pytest_artemis.checks.manifests", "pytest_artemis.checks.rules", "pytest_artemis.checks.dashboards",
                "pytest_artemis.load.gates", "pytest_artemis.rollout.checks"):
    importlib.import_module(_module)

EVIDENCE = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(TESTS.rglob("*"))
                     if p.is_file() and p.suffix in (".py", ".yaml", ".yml", ".json", ".txt")
                     and p.resolve() != Path(__file__).resolve())


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_every_registered_check_is_exercised_by_a_test_or_a_data_file(check_id: str) -> None:
    assert check_id in EVIDENCE, f"no test or test data file under tests/ names {check_id}"
