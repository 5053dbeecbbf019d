"""Rollout gate against a real cluster (kind in the pipeline): skipped with one line when none is configured.

Needs ``-p pytest_artemis.fixtures.cluster`` until the plugin lists that fixture module. Deploys the kit into
the session's namespace, waits for the rollout (fail fast included), then rolls out a broken image and proves
the automatic rollback gate brings the previous revision back.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.rollout]


def test_the_kit_rolls_out_and_every_replica_becomes_available(deploy: Any, rollout: Any) -> None:
    applied = deploy()
    names = [o["metadata"]["name"] for o in applied if o["kind"] == "Deployment"]
    assert names, "the kit has no Deployment"
    for name in names:
        status = rollout.wait(name)
        assert status.done and status.available == status.replicas, status.message


def test_a_broken_image_is_rolled_back_and_the_previous_revision_serves_again(deploy: Any, rollout: Any) -> None:
    deploy()
    rollout.wait("artemis")
    result = rollout.gate("artemis", image="registry.invalid/artemis:does-not-exist", timeout=180)
    assert result.outcome == "rolled back", result.message
    assert result.rollback_serves, result.message
