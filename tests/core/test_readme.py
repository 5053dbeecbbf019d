"""The README documents every option and marker the plugin registers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_artemis.config import OPTIONS
from pytest_artemis.families import markers

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", OPTIONS, ids=lambda s: s.flag)
def test_every_option_is_in_the_readme_with_its_ini_key_and_variable(spec) -> None:
    assert f"`{spec.flag}" in README
    assert f"`{spec.ini}`" in README
    assert f"`{spec.env}`" in README


@pytest.mark.parametrize("marker", sorted(markers()))
def test_every_marker_is_in_the_readme(marker: str) -> None:
    assert f"| `{marker}` |" in README


def test_the_readme_opens_with_the_two_commands() -> None:
    block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./ci/gate.sh", "./ci/test.sh"]
