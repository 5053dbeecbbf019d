"""Rollout gate against a real cluster (kind in the pipeline): skipped with one line when none is configured.

The kit's Deployment is the one already running in the namespace (a pipeline deployed the image under test
there: ``--artemis-namespace``), else the kit is applied into the session's namespace now. Then: its rollout
completes (fail fast included); a broken image is rolled out and the automatic rollback gate brings the
previous revision back; and a change rolled out under steady traffic through the Service (its URL as clients
reach it: ``--artemis-target``, else that test skips) loses no request.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_artemis.errors import NotFoundError

pytestmark = [pytest.mark.cluster, pytest.mark.rollout]

KIT = "artemis"


@pytest.fixture
def kit(cluster: Any, namespace: str, deploy: Any, rollout: Any) -> str:
    """The kit's Deployment, rolled out: the one running in the namespace, or the kit applied now."""
    try:
        cluster.deployment(KIT, namespace)
    except NotFoundError:
        names = [o["metadata"]["name"] for o in deploy() if o["kind"] == "Deployment"]
        assert KIT in names, f"the kit has no Deployment {KIT} (it has {names})"
    status = rollout.wait(KIT)
    assert status.done and status.available == status.replicas, status.message
    return KIT


def test_the_kit_rolls_out_and_every_replica_becomes_available(kit: str, rollout: Any) -> None:
    history = rollout.history(kit)
    assert history, f"deployment/{kit} has no ReplicaSet"
    ready = history[-1]
    assert ready.ready == ready.replicas > 0, f"revision {ready.revision}: {ready.ready} of {ready.replicas} ready"


def test_a_broken_image_is_rolled_back_and_the_previous_revision_serves_again(kit: str, rollout: Any) -> None:
    result = rollout.gate(kit, image="registry.invalid/artemis:does-not-exist", timeout=180)
    assert result.outcome == "rolled back", result.message
    assert result.rollback_serves, result.message


def test_a_rolling_update_under_steady_traffic_loses_no_request(kit: str, rollout: Any, zero_downtime: Any,
                                                                artemis_config: Any) -> None:
    if not artemis_config.target:
        pytest.skip("zero downtime needs the Service's URL as clients reach it: pass --artemis-target")
    with zero_downtime(kit, path="/api/v1/status"):
        rollout.update(kit, env={"ARTEMIS_ROLLOUT_MARK": str(time.time_ns())})
        rollout.wait(kit)
