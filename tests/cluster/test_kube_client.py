"""The Kubernetes client and the rollouts against the emulated API: the same code path as against a cluster."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pytest_artemis.clients.kube import MANAGED_BY, KubeClient
from pytest_artemis.errors import ClusterUnavailableError, ConflictError, NotFoundError, RolloutFailedError
from pytest_artemis.rollout.deployment import Rollouts

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 3, "progressDeadlineSeconds": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


@pytest.fixture
def kube(kube_api: Any) -> KubeClient:
    client = KubeClient.from_kubeconfig(kube_api.kubeconfig, "emulator")
    client.create_namespace("gate")
    return client


@pytest.fixture
def rollouts(kube: KubeClient) -> Rollouts:
    kube.apply([DEPLOYMENT, SERVICE], "gate")
    return Rollouts(kube, "gate", restart_limit=2, interval=0.05)


def test_the_server_version_and_a_labelled_namespace_come_from_the_api(kube: KubeClient) -> None:
    assert kube.server_version().startswith("v1.34")
    created = kube.create_namespace("second")
    assert created["metadata"]["labels"] == MANAGED_BY and created["metadata"]["uid"]
    with pytest.raises(ConflictError, match='409 .*namespaces "second" already exists'):
        kube.create_namespace("second")
    kube.delete_namespace("second")
    assert not kube.namespace_exists("second")


def test_server_side_apply_returns_the_stored_objects_with_server_set_fields(kube: KubeClient) -> None:
    first = kube.apply([DEPLOYMENT, SERVICE], "gate")
    meta = first[0]["metadata"]
    assert meta["namespace"] == "gate" and meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    assert meta["generation"] == 1 and meta["managedFields"][0]["manager"] == "pytest-artemis"
    again = kube.apply([DEPLOYMENT], "gate")[0]
    assert again["metadata"]["generation"] == 1, "an unchanged apply leaves the generation alone"
    changed = copy.deepcopy(DEPLOYMENT)
    changed["spec"]["replicas"] = 2
    assert kube.apply([changed], "gate")[0]["metadata"]["generation"] == 2


def test_an_apply_by_another_manager_conflicts_unless_forced(kube: KubeClient) -> None:
    kube.apply([DEPLOYMENT], "gate")
    changed = copy.deepcopy(DEPLOYMENT)
    changed["spec"]["replicas"] = 5
    path = "/apis/apps/v1/namespaces/gate/deployments/web"
    with pytest.raises(ConflictError, match="conflict with \"pytest-artemis\""):
        kube.call("PATCH", path, body=changed, content_type="application/apply-patch+yaml",
                  query=[("fieldManager", "someone-else")])
    assert kube.apply([changed], "gate", field_manager="someone-else")[0]["spec"]["replicas"] == 5


def test_a_missing_object_is_a_not_found_error_with_the_servers_reason(kube: KubeClient) -> None:
    with pytest.raises(NotFoundError, match=r'GET /apis/apps/v1/namespaces/gate/deployments/none answered 404 .*"none" '
                                            "not found"):
        kube.deployment("none", "gate")


def test_an_unreachable_api_server_is_one_line_naming_it(tmp_path: Any) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: "
                          "'http://127.0.0.1:9'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, "
                          "context: {cluster: c, user: u}}]\n")
    with pytest.raises(ClusterUnavailableError) as info:
        KubeClient.from_kubeconfig(kubeconfig).server_version()
    assert "127.0.0.1:9" in str(info.value) and "\n" not in str(info.value)
    assert info.value.__suppress_context__


def test_wait_follows_a_rollout_to_the_end_and_update_makes_a_new_revision(rollouts: Rollouts) -> None:
    first = rollouts.wait("web", 10)
    assert first.done and first.revision == 1 and first.available == 3
    rollouts.update("web", image="web:2", env={"MODE": "fast"})
    second = rollouts.wait("web", 10)
    assert second.revision == 2 and second.updated == 3 and second.replicas == 3
    history = rollouts.history("web")
    assert [(r.revision, r.images) for r in history] == [(1, ("web:1",)), (2, ("web:2",))]
    assert "image web:2" in history[-1].change_cause


def test_a_stuck_rollout_fails_on_its_progress_deadline(kube_api: Any, rollouts: Rollouts) -> None:
    rollouts.wait("web", 10)
    kube_api.controller.script("web:stuck", "stuck")
    rollouts.update("web", image="web:stuck")
    with pytest.raises(RolloutFailedError, match="exceeded its progress deadline") as info:
        rollouts.wait("web", 10)
    assert info.value.reason == "ProgressDeadlineExceeded"


def test_a_rollout_that_does_not_finish_in_time_fails_with_its_last_status(kube_api: Any, rollouts: Rollouts) -> None:
    rollouts.wait("web", 10)
    kube_api.controller.script("web:stuck", "stuck")
    rollouts.update("web", image="web:stuck")
    with pytest.raises(RolloutFailedError, match=r"not done within 0.2s: waiting for deployment web") as info:
        rollouts.wait("web", 0.2)
    assert info.value.reason == "timeout"


@pytest.mark.parametrize(("behaviour", "reason"), [
    ("crashloop", "CrashLoopBackOff"), ("imagepull", r"ErrImagePull|ImagePullBackOff"), ("oom", "OOMKilled"),
    ("configerror", "CreateContainerConfigError"), ("restarts", "RestartLimitExceeded")])
def test_a_new_pod_that_cannot_recover_fails_the_rollout_fast_with_its_reason(
        kube_api: Any, rollouts: Rollouts, behaviour: str, reason: str) -> None:
    rollouts.wait("web", 10)
    kube_api.controller.script("web:bad", behaviour)
    rollouts.update("web", image="web:bad")
    with pytest.raises(RolloutFailedError, match=rf"failed fast .* container app ({reason})") as info:
        rollouts.wait("web", 30)
    assert info.value.pod.startswith("web-") and info.value.container == "app"


def test_undo_goes_back_to_the_previous_revision_which_then_serves(kube_api: Any, rollouts: Rollouts) -> None:
    rollouts.wait("web", 10)
    rollouts.update("web", image="web:2")
    rollouts.wait("web", 10)
    kube_api.controller.script("web:3", "crashloop")
    rollouts.update("web", image="web:3")
    with pytest.raises(RolloutFailedError):
        rollouts.wait("web", 10)
    target = rollouts.undo("web")
    assert target.revision == 2 and target.images == ("web:2",)
    done = rollouts.wait("web", 10)
    assert done.revision == 4
    assert [(r.revision, r.images) for r in rollouts.history("web")] == [(1, ("web:1",)), (3, ("web:3",)),
                                                                        (4, ("web:2",))]
    assert {p.spec.containers[0].image for p in rollouts.new_pods("web")} == {"web:2"}


def test_events_and_logs_of_a_crashing_pod_are_readable(kube_api: Any, kube: KubeClient, rollouts: Rollouts) -> None:
    rollouts.wait("web", 10)
    kube_api.controller.script("web:3", "crashloop")
    rollouts.update("web", image="web:3")
    with pytest.raises(RolloutFailedError) as info:
        rollouts.wait("web", 10)
    assert any(e.reason == "BackOff" and e.type == "Warning" for e in kube.events("gate"))
    previous = kube.pod_logs(info.value.pod, "gate", previous=True, tail=2)
    assert previous.splitlines() == ["panic: ARTEMIS_DB_URL is not set", "exit status 1"]
