"""Table-driven check tests: one small manifest per check and edge case, one expected finding each."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_artemis.checks.manifests import ManifestIndex, evaluate, load_source
from pytest_artemis.checks.manifests.loader import ManifestLoadError
from pytest_artemis.checks.registry import REGISTRY, Check
from pytest_artemis.findings import Finding

ROOT = Path(__file__).resolve().parents[2]


def findings_of(path: Path, *, version: str = "1.30", ignore: tuple[str, ...] = ()) -> list[Finding]:
    objects = load_source(path, ROOT)
    index = ManifestIndex(version)
    index.add(str(path), objects)
    return [f for obj in objects for f in evaluate(obj, index.context(obj.scope), ignore=ignore)]


# file in tests/data/manifests/cases, check id, severity, object
CASES = [
    ("schema-typo.yaml", "schema", "critical", "Deployment/web"),
    ("schema-custom-resource.yaml", "schema", "warning", "ServiceMonitor/web"),
    ("probe-readiness-missing.yaml", "probe-readiness-missing", "critical", "Deployment/web"),
    ("probe-liveness-missing.yaml", "probe-liveness-missing", "warning", "Deployment/web"),
    ("probe-startup-missing.yaml", "probe-startup-missing", "info", "Deployment/web"),
    ("probes-identical.yaml", "probes-identical", "warning", "Deployment/web"),
    ("probe-port-not-exposed.yaml", "probe-port-not-exposed", "critical", "Deployment/web"),
    ("probe-timing-timeout.yaml", "probe-timing", "warning", "Deployment/web"),
    ("probe-timing-liveness-first.yaml", "probe-timing", "warning", "Deployment/web"),
    ("resources-requests-missing.yaml", "resources-requests-missing", "critical", "Deployment/web"),
    ("resources-limits-missing.yaml", "resources-limits-missing", "warning", "Deployment/web"),
    ("resources-requests-from-limits.yaml", "resources-requests-from-limits", "info", "Deployment/web"),
    ("security-run-as-root.yaml", "security-run-as-root", "critical", "Deployment/web"),
    ("security-privilege-escalation.yaml", "security-privilege-escalation", "critical", "Deployment/web"),
    ("security-writable-root-fs.yaml", "security-writable-root-fs", "warning", "Deployment/web"),
    ("security-privileged.yaml", "security-privileged", "critical", "Deployment/web"),
    ("security-capabilities-keep.yaml", "security-capabilities", "warning", "Deployment/web"),
    ("security-capabilities-add.yaml", "security-capabilities", "critical", "Deployment/web"),
    ("image-tag-mutable.yaml", "image-tag-mutable", "critical", "Deployment/web"),
    ("image-pull-policy.yaml", "image-pull-policy", "warning", "Deployment/web"),
    ("replicas-too-few.yaml", "replicas-too-few", "warning", "Deployment/web"),
    ("rollout-strategy-recreate.yaml", "rollout-strategy", "warning", "Deployment/web"),
    ("rollout-strategy-all-down.yaml", "rollout-strategy", "critical", "Deployment/web"),
    ("pdb-missing.yaml", "pdb-missing", "warning", "Deployment/web"),
    ("pdb-missing-replicas-unset.yaml", "pdb-missing", "warning", "Deployment/web"),
    ("pdb-missing-selector-mismatch.yaml", "pdb-missing", "warning", "Deployment/web"),
    ("pdb-blocks-eviction.yaml", "pdb-blocks-eviction", "warning", "PodDisruptionBudget/web"),
    ("service-selector-no-match.yaml", "service-selector-no-match", "critical", "Service/web"),
    ("service-target-port-missing.yaml", "service-target-port-missing", "critical", "Service/web"),
    ("networkpolicy-missing.yaml", "networkpolicy-missing", "warning", "Deployment/web"),
    ("networkpolicy-direction-open.yaml", "networkpolicy-direction-open", "warning", "Deployment/web"),
    ("networkpolicy-direction-open-ingress.yaml", "networkpolicy-direction-open", "warning", "Deployment/web"),
    ("hpa-target-missing.yaml", "hpa-target-missing", "critical", "HorizontalPodAutoscaler/api"),
    ("hpa-replicas-conflict.yaml", "hpa-replicas-conflict", "warning", "Deployment/web"),
    ("anti-affinity-missing.yaml", "anti-affinity-missing", "warning", "Deployment/web"),
    ("anti-affinity-ineffective.yaml", "anti-affinity-ineffective", "warning", "Deployment/web"),
    ("anti-affinity-ineffective-namespaces.yaml", "anti-affinity-ineffective", "warning", "Deployment/web"),
    ("anti-affinity-ineffective-other-app.yaml", "anti-affinity-ineffective", "info", "Deployment/web"),
    ("secret-in-env-url.yaml", "secret-in-env", "critical", "Deployment/web"),
    ("secret-in-env-name.yaml", "secret-in-env", "critical", "Deployment/web"),
    ("selector-labels-mismatch.yaml", "selector-labels-mismatch", "critical", "Deployment/web"),
]


@pytest.mark.parametrize(("file", "check_id", "severity", "obj"), CASES,
                         ids=[c[0].removesuffix(".yaml") for c in CASES])
def test_each_case_manifest_yields_exactly_its_expected_finding(
    data_dir: Path, file: str, check_id: str, severity: str, obj: str
) -> None:
    found = [f for f in findings_of(data_dir / "manifests" / "cases" / file) if f.check == check_id]
    assert [(f.severity, f"{f.kind}/{f.name}") for f in found] == [(severity, obj)], found
    assert found[0].message and found[0].fix and found[0].file.endswith(file)


# file under tests/data/manifests, check id, what the message must say (actual against expected)
MESSAGES = [
    ("cases/pdb-missing-replicas-unset.yaml", "pdb-missing",
     "replicas unset (an HPA may scale it) and no PodDisruptionBudget in namespace default"),
    ("cases/pdb-missing-selector-mismatch.yaml", "pdb-missing",
     "(PodDisruptionBudget/web selects app=frontend, pods have app=web)"),
    ("edge/namespaces.yaml", "pdb-missing", "(PodDisruptionBudget/web is in namespace b, workload in a)"),
    ("cases/networkpolicy-direction-open.yaml", "networkpolicy-direction-open",
     "egress is open: the policies selecting these pods (NetworkPolicy/web-ingress) cover ingress only"),
    ("cases/networkpolicy-direction-open-ingress.yaml", "networkpolicy-direction-open",
     "ingress is open: the policies selecting these pods (NetworkPolicy/web-egress) cover egress only"),
    ("cases/anti-affinity-ineffective.yaml", "anti-affinity-ineffective",
     ("podAntiAffinity preferred term 0 selects app=frontend, pods have app=web: it spreads none of the pods "
      "(3 replicas)")),
    ("cases/anti-affinity-ineffective-namespaces.yaml", "anti-affinity-ineffective",
     "podAntiAffinity required term 0 looks only at namespace shop-old, pods run in shop"),
    ("cases/anti-affinity-ineffective-other-app.yaml", "anti-affinity-ineffective",
     "podAntiAffinity preferred term 1 selects app=db, pods have app=web: it keeps other pods away"),
    ("cases/resources-requests-from-limits.yaml", "resources-requests-from-limits",
     "resources.requests.cpu and memory not set: Kubernetes copies the limits (cpu 2, memory 1Gi) into the requests"),
]


@pytest.mark.parametrize(("file", "check_id", "expected"), MESSAGES,
                         ids=[f"{m[0].split('/')[-1].removesuffix('.yaml')}" for m in MESSAGES])
def test_each_message_says_what_was_found_and_why_it_does_not_count(
    data_dir: Path, file: str, check_id: str, expected: str
) -> None:
    messages = [f.message for f in findings_of(data_dir / "manifests" / file) if f.check == check_id]
    assert any(expected in m for m in messages), messages


def test_pdb_missing_skips_only_an_explicit_single_replica_or_an_hpa_capped_at_one(data_dir: Path) -> None:
    path = data_dir / "manifests" / "cases" / "pdb-missing-replicas.yaml"
    found = [f for f in findings_of(path) if f.check == "pdb-missing"]
    assert sorted(f.name for f in found) == ["scaled", "unset"]
    [scaled] = [f.message for f in found if f.name == "scaled"]
    assert scaled.startswith("HorizontalPodAutoscaler/scaled scales it to 1-5 replicas and no PodDisruptionBudget")


def test_networkpolicy_without_policy_types_covers_egress_only_when_it_has_egress_rules(data_dir: Path) -> None:
    found = findings_of(data_dir / "manifests" / "cases" / "networkpolicy-direction-defaults.yaml")
    opened = [(f.name, f.message.split(":")[0]) for f in found if f.check == "networkpolicy-direction-open"]
    assert opened == [("api", "egress is open")]


def test_clean_manifest_has_no_finding_at_any_severity(data_dir: Path) -> None:
    assert findings_of(data_dir / "manifests" / "clean.yaml") == []


def test_schema_reports_every_error_of_an_object_with_its_path(tmp_path: Path) -> None:
    manifest = tmp_path / "many.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: three\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers:\n        - name: web\n          image: web:1\n"
        "          livenessProbe: {httpGet: {path: /, port: 80}, periodSecond: 5}\n"
        "          ports: [{containerPort: eighty}]\n"
    )
    messages = sorted(f.message for f in findings_of(manifest) if f.check == "schema")
    assert len(messages) == 3, messages
    assert messages[0].startswith("spec.replicas: 'three' is not of type")
    assert "spec.template.spec.containers[0].livenessProbe: Additional properties are not allowed " \
           "('periodSecond' was unexpected)" in messages
    assert any(m.startswith("spec.template.spec.containers[0].ports[0].containerPort:") for m in messages)


def test_schema_validators_are_built_once_per_kind_and_version() -> None:
    from pytest_artemis.checks.manifests.schema import validator_for

    assert validator_for("1.30", "apps/v1", "Deployment") is validator_for("1.30", "apps/v1", "Deployment")
    assert validator_for("1.30", "apps/v1", "Deployment") is not validator_for("1.31", "apps/v1", "Deployment")
    assert validator_for("1.30", "v1", "Container") is None  # a sub-structure is not a kind


def test_unsupported_kubernetes_version_is_a_finding_not_a_crash(data_dir: Path) -> None:
    found = [f for f in findings_of(data_dir / "manifests" / "clean.yaml", version="1.5") if f.check == "schema"]
    assert found and all("no schemas for Kubernetes 1.5" in f.message for f in found)


def test_list_kind_expands_into_its_items(data_dir: Path) -> None:
    objects = load_source(data_dir / "manifests" / "edge" / "list-kind.yaml", ROOT)
    assert [o.ref for o in objects] == ["ConfigMap/one", "Service/two"]


def test_empty_documents_are_skipped_and_dates_stay_strings(data_dir: Path) -> None:
    objects = load_source(data_dir / "manifests" / "edge" / "empty-documents.yaml", ROOT)
    assert [(o.ref, o.line) for o in objects] == [("ConfigMap/only-one", 5)]
    assert findings_of(data_dir / "manifests" / "edge" / "empty-documents.yaml") == []


def test_cross_object_checks_match_by_namespace_given_or_omitted(data_dir: Path) -> None:
    found = [f for f in findings_of(data_dir / "manifests" / "edge" / "namespaces.yaml") if f.check == "pdb-missing"]
    assert [(f.namespace, f.name) for f in found] == [("a", "web")]


def test_pod_template_checks_cover_every_workload_kind_and_jobs_are_not_probed(data_dir: Path) -> None:
    found = findings_of(data_dir / "manifests" / "edge" / "workload-kinds.yaml")
    root = sorted(f.kind for f in found if f.check == "security-run-as-root")
    assert root == ["CronJob", "DaemonSet", "Job", "Pod", "StatefulSet"]
    probed = {f.kind for f in found if f.check == "probe-readiness-missing"}
    assert probed == {"DaemonSet", "Pod", "StatefulSet"}


def test_custom_resources_are_a_warning_and_their_definition_validates(data_dir: Path) -> None:
    found = [f for f in findings_of(data_dir / "manifests" / "edge" / "custom-resources.yaml") if f.check == "schema"]
    assert [(f.kind, f.severity) for f in found] == [("Mission", "warning")]


def test_ignore_annotation_and_ignored_ids_drop_those_findings(data_dir: Path) -> None:
    path = data_dir / "manifests" / "edge" / "ignore-annotation.yaml"
    checks = {f.check for f in findings_of(path)}
    assert not checks & {"probe-readiness-missing", "security-run-as-root"}
    assert "security-privilege-escalation" in checks
    ignored = findings_of(path, ignore=("security-privilege-escalation",))
    assert "security-privilege-escalation" not in {f.check for f in ignored}


def test_broken_yaml_raises_an_error_naming_file_and_line(data_dir: Path) -> None:
    with pytest.raises(ManifestLoadError) as caught:
        load_source(data_dir / "manifests" / "edge" / "broken.yaml", ROOT)
    assert caught.value.file == "tests/data/manifests/edge/broken.yaml" and caught.value.line == 8
    assert "invalid YAML" in str(caught.value)


def test_a_check_that_raises_becomes_a_warning_finding_not_a_crash(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(obj: object, ctx: object) -> list[Finding]:
        """Raises on every object."""
        raise KeyError("spec")

    monkeypatch.setitem(REGISTRY, "broken-check", Check("broken-check", "manifests", "any", "critical", "x", broken))
    found = [f for f in findings_of(data_dir / "manifests" / "clean.yaml") if f.check == "broken-check"]
    assert len(found) == 5 and all(f.severity == "warning" and "KeyError" in f.message for f in found)


def test_document_missing_api_version_next_to_real_objects_is_a_schema_finding(tmp_path: Path) -> None:
    manifest = tmp_path / "mixed.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n"
                        "kind: ConfigMap\nmetadata: {name: typo}\napiversion: v1\n---\nnotes: [not, an, object]\n")
    found = [(f.name, f.message) for f in findings_of(manifest) if f.check == "schema"]
    assert found == [("typo", "document has no apiVersion")]
