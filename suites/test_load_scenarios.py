"""Load scenarios (field exercises) against the service under test, gated on the baselines in force.

Run one with its marker (``pytest -m spike``); ``--artemis-profile smoke|ci|full`` scales users and
durations, ``--artemis-load-param KEY=VALUE`` sets the seed's parameters, ``--artemis-workers N`` runs
Locust distributed. Each test's figures, limits and artifacts land in the verdict file.
"""

from __future__ import annotations

import pytest

from pytest_artemis.load.exercise import Exercise


@pytest.mark.load
def test_load_holds_the_baselines(load_exercise: Exercise) -> None:
    load_exercise.assert_gates()


@pytest.mark.spike
def test_spike_recovers_within_the_baseline(load_exercise: Exercise) -> None:
    load_exercise.assert_gates()


@pytest.mark.endurance
def test_endurance_shows_no_memory_leak(load_exercise: Exercise) -> None:
    load_exercise.assert_gates()


@pytest.mark.scalability
def test_scalability_knee_is_not_below_the_baseline(load_exercise: Exercise) -> None:
    load_exercise.assert_gates()


@pytest.mark.chaos
def test_chaos_keeps_the_service_available_and_it_recovers(load_exercise: Exercise) -> None:
    print(f"chaos seed {load_exercise.plan.seed} (rerun: --artemis-load-param seed={load_exercise.plan.seed})")
    load_exercise.assert_gates()
