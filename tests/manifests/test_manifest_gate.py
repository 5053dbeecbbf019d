"""The manifest gate run as users run it: pytest on manifest paths, no test code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_artemis.checks.manifests.loader import kubectl_binary

CLEAN_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1000}
      containers:
        - name: web
          image: registry.example/web:1.0
          imagePullPolicy: IfNotPresent
          ports: [{name: http, containerPort: 8080}]
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 128Mi}}
          startupProbe: {httpGet: {path: /health, port: http}}
          readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5, failureThreshold: 2}
          livenessProbe: {httpGet: {path: /live, port: http}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"""


@pytest.fixture
def edge(pytester: pytest.Pytester, data_dir: Path) -> Path:
    target = pytester.path / "deploy"
    shutil.copytree(data_dir / "manifests" / "edge", target)
    return target


def verdict(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "verdict.json").read_text())


def test_each_object_is_one_item_with_an_id_naming_file_and_object(pytester: pytest.Pytester, edge: Path) -> None:
    (edge / "broken.yaml").unlink()
    result = pytester.runpytest("--artemis-manifests", "deploy", "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert "deploy/list-kind.yaml::ConfigMap/one" in ids and "deploy/list-kind.yaml::Service/two" in ids
    assert "deploy/empty-documents.yaml::ConfigMap/only-one" in ids
    assert "deploy/workload-kinds.yaml::CronJob/report" in ids
    assert not any(i.startswith("deploy/not-a-manifest.yaml") for i in ids)
    assert len(ids) == 2 + 1 + 4 + 5 + 2 + 1


def test_items_carry_the_manifests_marker(pytester: pytest.Pytester, edge: Path) -> None:
    (edge / "broken.yaml").unlink()
    result = pytester.runpytest("--artemis-manifests", "deploy", "-m", "not manifests", "-q")
    result.assert_outcomes(deselected=15)


def test_broken_yaml_is_one_failing_item_naming_file_and_line(pytester: pytest.Pytester, edge: Path) -> None:
    result = pytester.runpytest("--artemis-manifests", "deploy/broken.yaml", "--artemis-verdict", "verdict.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deploy/broken.yaml:8: invalid YAML*"])
    [finding] = verdict(pytester)["findings"]
    assert finding["check"] == "manifest-unreadable" and finding["file"] == "deploy/broken.yaml"


@pytest.mark.parametrize("file", ["empty/empty.yaml", "empty/comments-only.yaml", "edge/not-a-manifest.yaml"])
def test_named_file_holding_no_objects_is_one_failing_item_saying_so(
    pytester: pytest.Pytester, data_dir: Path, file: str
) -> None:
    name = Path(file).name
    shutil.copy(data_dir / "manifests" / file, pytester.path / name)
    result = pytester.runpytest("--artemis-manifests", name, "-m", "manifests", "--artemis-verdict", "verdict.json")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"*[[]critical[]] manifest-no-objects: {name} holds no Kubernetes objects"])
    [finding] = verdict(pytester)["findings"]
    assert (finding["check"], finding["file"], finding["message"]) == (
        "manifest-no-objects", name, f"{name} holds no Kubernetes objects")


def test_empty_file_named_as_an_argument_fails_even_under_a_gate_directory(
    pytester: pytest.Pytester, data_dir: Path
) -> None:
    (pytester.path / "deploy").mkdir()
    shutil.copy(data_dir / "manifests" / "clean.yaml", pytester.path / "deploy" / "app.yaml")
    shutil.copy(data_dir / "manifests" / "empty" / "empty.yaml", pytester.path / "deploy" / "empty.yaml")
    pytester.makeini("[pytest]\nartemis_manifests = deploy\n")
    result = pytester.runpytest("deploy/empty.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deploy/empty.yaml holds no Kubernetes objects"])


def test_empty_files_next_to_objects_are_skipped_and_counted(pytester: pytest.Pytester, data_dir: Path) -> None:
    (pytester.path / "deploy").mkdir()
    shutil.copy(data_dir / "manifests" / "clean.yaml", pytester.path / "deploy" / "app.yaml")
    for name in ("empty.yaml", "comments-only.yaml"):
        shutil.copy(data_dir / "manifests" / "empty" / name, pytester.path / "deploy" / name)
    result = pytester.runpytest("--artemis-manifests", "deploy", "-rs", "--artemis-verdict", "verdict.json")
    result.assert_outcomes(passed=5, skipped=2)
    result.stdout.fnmatch_lines([
        "*Manifests*5 passed, 0 failed, 0 error, 2 skipped*GO",
        ("SKIPPED [[]1[]] deploy/comments-only.yaml: deploy/comments-only.yaml holds no Kubernetes objects "
         "(skipped: other files under deploy do)"),
    ])
    assert verdict(pytester)["verdict"] == "GO"


def test_directory_whose_files_hold_no_objects_fails_each_file(pytester: pytest.Pytester, data_dir: Path) -> None:
    shutil.copytree(data_dir / "manifests" / "empty", pytester.path / "deploy")
    result = pytester.runpytest("--artemis-manifests", "deploy")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*deploy/empty.yaml holds no Kubernetes objects (nor does anything else under deploy)*"])


def test_failure_lists_every_finding_grouped_with_one_fix_line_each(pytester: pytest.Pytester, data_dir: Path) -> None:
    shutil.copy(data_dir / "manifests" / "cases" / "schema-typo.yaml", pytester.path / "web.yaml")
    result = pytester.runpytest("--artemis-manifests", "web.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*web.yaml default/Deployment/web: * finding(s) at or above critical*",
        "web.yaml default/Deployment/web",
        ("  [[]critical[]] schema: *livenessProbe: Additional properties are not allowed "
         "('periodSecond' was unexpected)"),
        "      fix: *",
    ])


def test_findings_go_to_the_verdict_file_with_their_fields(pytester: pytest.Pytester, data_dir: Path) -> None:
    shutil.copy(data_dir / "manifests" / "cases" / "secret-in-env-url.yaml", pytester.path / "web.yaml")
    pytester.runpytest("--artemis-manifests", "web.yaml", "--artemis-verdict", "verdict.json")
    findings = verdict(pytester)["findings"]
    [secret] = [f for f in findings if f["check"] == "secret-in-env"]
    assert {k: secret[k] for k in ("severity", "kind", "name", "namespace", "file", "container")} == {
        "severity": "critical", "kind": "Deployment", "name": "web", "namespace": "default", "file": "web.yaml",
        "container": "web"}
    assert "DATABASE_URL" in secret["message"] and "hunter2" not in secret["message"]


@pytest.mark.parametrize(("fail_on", "outcome"), [("critical", "passed"), ("warning", "failed"), ("info", "failed")])
def test_fail_on_sets_the_lowest_severity_that_fails(pytester: pytest.Pytester, fail_on: str, outcome: str) -> None:
    (pytester.path / "web.yaml").write_text(CLEAN_DEPLOYMENT)  # one replica: warnings only
    result = pytester.runpytest("--artemis-manifests", "web.yaml", "--artemis-fail-on", fail_on)
    result.assert_outcomes(**{outcome: 1})


def test_ignore_check_option_and_annotation_skip_findings(pytester: pytest.Pytester) -> None:
    (pytester.path / "web.yaml").write_text(CLEAN_DEPLOYMENT)
    ignored = ["--artemis-ignore-check", "replicas-too-few", "networkpolicy-missing"]
    pytester.runpytest("--artemis-manifests", "web.yaml", "--artemis-fail-on", "warning", *ignored).assert_outcomes(
        passed=1)
    annotated = CLEAN_DEPLOYMENT.replace("metadata: {name: web}", "metadata:\n  name: web\n  annotations: "
                                         "{artemis.io/ignore: 'replicas-too-few,networkpolicy-missing'}")
    (pytester.path / "web.yaml").write_text(annotated)
    pytester.runpytest("--artemis-manifests", "web.yaml", "--artemis-fail-on", "warning").assert_outcomes(passed=1)


def test_cross_object_checks_see_objects_in_other_files(pytester: pytest.Pytester) -> None:
    (pytester.path / "deploy").mkdir()
    (pytester.path / "deploy" / "web.yaml").write_text(CLEAN_DEPLOYMENT.replace("replicas: 1", "replicas: 3"))
    (pytester.path / "deploy" / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
        "  ports: [{port: 80, targetPort: http}]\n")
    pytester.makeini("[pytest]\nartemis_manifests = deploy\n")
    result = pytester.runpytest("deploy/svc.yaml")
    result.assert_outcomes(passed=1)  # the Service's pods are in web.yaml: not collected, but under the gate path
    pytester.runpytest("--artemis-manifests", "deploy", "--artemis-verdict", "verdict.json")
    checks = {f["check"] for f in verdict(pytester)["findings"]}
    assert {"pdb-missing", "networkpolicy-missing"} <= checks and "service-selector-no-match" not in checks


def test_kustomize_directory_is_rendered_once_and_its_files_are_not_gated_twice(pytester: pytest.Pytester) -> None:
    app = pytester.path / "app"
    app.mkdir()
    (app / "deployment.yaml").write_text(CLEAN_DEPLOYMENT)
    (app / "kustomization.yaml").write_text("resources: [deployment.yaml]\nnamespace: shop\nnamePrefix: eu-\n")
    result = pytester.runpytest("--artemis-manifests", ".", "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == ["app/kustomization.yaml::Deployment/eu-web"]
    result = pytester.runpytest("--artemis-manifests", ".", "--artemis-verdict", "verdict.json",
                                "--artemis-fail-on", "warning")
    result.assert_outcomes(failed=1)
    findings = verdict(pytester)["findings"]
    assert {(f["file"], f["namespace"], f["name"]) for f in findings} == {("app/deployment.yaml", "shop", "eu-web")}
    result.stdout.fnmatch_lines(["*app/deployment.yaml shop/Deployment/eu-web (rendered from app/kustomization.yaml)*"])


def test_kustomize_render_failure_is_one_failing_item(pytester: pytest.Pytester) -> None:
    (pytester.path / "app").mkdir()
    (pytester.path / "app" / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    result = pytester.runpytest("--artemis-manifests", "app")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*app/kustomization.yaml: kustomize build failed*missing.yaml*"])


def test_kubectl_for_kustomize_is_found() -> None:
    assert Path(kubectl_binary()).is_file()


def test_gate_gives_the_same_outcomes_under_xdist(pytester: pytest.Pytester, edge: Path) -> None:
    (edge / "empty.yaml").write_text("")
    result = pytester.runpytest_subprocess("--artemis-manifests", "deploy", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7, failed=9, skipped=1)
    result.stdout.fnmatch_lines(["*deploy/broken.yaml:8: invalid YAML*"])
