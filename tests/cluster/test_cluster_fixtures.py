"""The cluster fixtures in a pytest session: skipped without a cluster, against the emulated API with one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_kube_client import DEPLOYMENT

PLUGIN = ("-p", "pytest_artemis.fixtures.cluster")
SUITE = f'''
import pytest

DEPLOYMENT = {DEPLOYMENT!r}


@pytest.mark.cluster
def test_applies_and_rolls_out(deploy, rollout, namespace):
    applied = deploy(objects=[DEPLOYMENT])
    assert applied[0]["metadata"]["namespace"] == namespace and applied[0]["metadata"]["uid"]
    rollout.rollouts.interval = 0.05
    assert rollout.wait("web", 10).done
    rollout.update("web", image="web:2")
    assert rollout.wait("web", 10).revision == 2
    assert [r.revision for r in rollout.history("web")] == [1, 2]


@pytest.mark.rollout
def test_a_broken_image_fails_the_rollout(deploy, rollout):
    deploy(objects=[DEPLOYMENT])
    rollout.rollouts.interval = 0.05
    rollout.wait("web", 10)
    rollout.update("web", image="web:broken")
    rollout.wait("web", 10)
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest_inprocess(*PLUGIN, "-p", "no:cacheprovider", "-rs", *args)


def test_without_a_cluster_cluster_and_rollout_tests_skip_with_one_clear_line(pytester: pytest.Pytester) -> None:
    result = run(pytester, "-m", "cluster or rollout")
    result.assert_outcomes(skipped=2)
    reasons = {line.split(": ", 1)[1] for line in result.outlines if line.startswith("SKIPPED")}
    assert reasons == {("no Kubernetes cluster configured (--artemis-kubeconfig / --artemis-context, or in-cluster): "
                       "cluster gates skipped")}, "one line per test, the same reason, no traceback"


def test_with_require_cluster_a_missing_cluster_is_an_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--artemis-require-cluster")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*no Kubernetes cluster configured*--artemis-require-cluster is set*"])


def test_against_the_emulated_api_the_fixtures_apply_roll_out_and_delete_the_namespace(
        pytester: pytest.Pytester, kube_api: Any) -> None:
    verdict = pytester.path / "verdict.json"
    result = run(pytester, "--artemis-kubeconfig", str(kube_api.kubeconfig), "-k", "applies",
                 "--artemis-verdict", str(verdict))
    result.assert_outcomes(passed=1)
    namespaces = [k[3] for k in kube_api.store.objects if k[:2] == ("v1", "namespaces")]
    assert namespaces == [], "the ephemeral namespace is deleted at the end of the session"
    created = [r for r in kube_api.store.requests if r == "POST /api/v1/namespaces"]
    assert len(created) == 1
    text = verdict.read_text(encoding="utf-8")
    assert "rollout-progress" in text and "v1.34.0-artemis-emulator" in text


def test_keep_namespace_leaves_the_labelled_namespace_in_place(pytester: pytest.Pytester, kube_api: Any) -> None:
    run(pytester, "--artemis-kubeconfig", str(kube_api.kubeconfig), "-k", "applies",
        "--artemis-keep-namespace").assert_outcomes(passed=1)
    kept = [o for k, o in kube_api.store.objects.items() if k[:2] == ("v1", "namespaces")]
    assert len(kept) == 1 and kept[0]["metadata"]["name"].startswith("artemis-")
    assert kept[0]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "pytest-artemis"}


def test_a_failed_rollout_attaches_events_and_pod_logs_and_summarises_them(
        pytester: pytest.Pytester, kube_api: Any) -> None:
    kube_api.controller.script("web:broken", "crashloop")
    artifacts = pytester.path / "artifacts"
    verdict = pytester.path / "verdict.json"
    result = run(pytester, "--artemis-kubeconfig", str(kube_api.kubeconfig), "-k", "broken",
                 "--artemis-artifacts", str(artifacts), "--artemis-verdict", str(verdict))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*RolloutFailedError: rollout of deployment/web failed fast*CrashLoopBackOff*",
                                 "*cluster diagnostics*", "*Warning BackOff pod/web-*",
                                 "*previous, 3 restarts): exit status 1*"])
    logs = sorted(p.name for p in artifacts.rglob("*.log"))
    assert any(name.endswith(".app.previous.log") for name in logs)
    assert list(artifacts.rglob("events.txt"))
    text = verdict.read_text(encoding="utf-8")
    assert "rollout-fail-fast" in text and "events.txt" in text


def test_deploy_renders_a_kustomize_directory_of_the_kit(pytester: pytest.Pytester, kube_api: Any) -> None:
    root = Path(__file__).resolve().parents[2]
    pytester.makepyfile(test_kit=f'''
import pytest

@pytest.mark.cluster
def test_kit(deploy, namespace):
    kinds = sorted(o["kind"] for o in deploy({str(root / "manifests" / "base")!r}))
    assert "Deployment" in kinds and "Service" in kinds, kinds
    print("KINDS", kinds)
''')
    result = pytester.runpytest_inprocess(*PLUGIN, "-p", "no:cacheprovider", "-s",
                                          "--artemis-kubeconfig", str(kube_api.kubeconfig))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*KINDS *'Deployment'*'Service'*"])


def test_a_marker_argument_gives_a_test_a_namespace_of_its_own(pytester: pytest.Pytester, kube_api: Any) -> None:
    pytester.makepyfile(test_own="""
import pytest

SEEN = []

@pytest.mark.cluster(namespace="test")
def test_first(namespace):
    SEEN.append(namespace)

@pytest.mark.cluster(namespace="test")
def test_second(namespace):
    SEEN.append(namespace)

@pytest.mark.cluster
def test_shared(namespace, artemis_session_namespace):
    assert namespace == artemis_session_namespace
    SEEN.append(namespace)

def test_all_different():
    assert len(set(SEEN)) == 3, SEEN

@pytest.mark.cluster(namespace="per-module")
def test_wrong(namespace):
    pass
""")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly",
                                          "--artemis-kubeconfig", str(kube_api.kubeconfig))
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*namespace= takes \"session\" or \"test\", not 'per-module'*"])
    created = [r for r in kube_api.store.requests if r == "POST /api/v1/namespaces"]
    assert len(created) == 3, "the session's namespace and one for each marked test"
    assert not [k for k in kube_api.store.objects if k[:2] == ("v1", "namespaces")], "all deleted again"
