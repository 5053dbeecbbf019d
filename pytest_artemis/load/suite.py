"""The load suite that ships with the plugin: one gated test per scenario, for ``artemis-load`` from any directory.

``artemis-load --test-type spike`` runs this file with ``-m spike`` unless ``--suite`` names another; the test of
each scenario carries the scenario's marker, so the ``load_exercise`` fixture plans, runs and evaluates it.
"""

from __future__ import annotations

import pytest

from pytest_artemis.load.exercise import Exercise
from pytest_artemis.load.scenarios import SCENARIOS


@pytest.mark.parametrize("scenario", [pytest.param(name, marks=getattr(pytest.mark, name), id=name)
                                      for name in SCENARIOS])
def test_scenario_holds_its_gates(scenario: str, load_exercise: Exercise) -> None:
    load_exercise.assert_gates()
