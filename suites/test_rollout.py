"""Rollout gate against a real cluster (kind in the pipeline): skipped with one line when none is configured.

Deploys the kit into the session's namespace, waits for the rollout (fail fast included), rolls out a broken
image and proves the automatic rollback gate brings the previous revision back, and rolls out a change under
steady traffic through the Service (its URL as clients reach it: ``--artemis-target``, else that test skips)
proving no request is lost.
"""

from __future__ import annotations

import time
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


def test_a_rolling_update_under_steady_traffic_loses_no_request(deploy: Any, rollout: Any, zero_downtime: Any,
                                                                artemis_config: Any) -> None:
    if not artemis_config.target:
        pytest.skip("zero downtime needs the Service's URL as clients reach it: pass --artemis-target")
    deploy()
    rollout.wait("artemis")
    with zero_downtime("artemis", path="/api/v1/status"):
        rollout.update("artemis", env={"ARTEMIS_ROLLOUT_MARK": str(time.time_ns())})
        rollout.wait("artemis")
