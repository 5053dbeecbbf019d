"""The bundled Kubernetes kit (manifests/) passes its own gate, and keeps the promises it documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_artemis.checks.manifests import ManifestIndex, ManifestObject, evaluate, load_source
from pytest_artemis.findings import at_or_above

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "manifests"
RENDERS = ["base", "overlays/staging", "overlays/production"]


@pytest.fixture(scope="module", params=RENDERS)
def render(request: pytest.FixtureRequest) -> tuple[str, list[ManifestObject]]:
    return request.param, load_source(KIT / request.param / "kustomization.yaml", ROOT)


def by_kind(objects: list[ManifestObject], kind: str) -> ManifestObject:
    [obj] = [o for o in objects if o.kind == kind]
    return obj


def test_kit_renders_have_no_warning_or_critical_finding(render: tuple[str, list[ManifestObject]]) -> None:
    name, objects = render
    index = ManifestIndex("1.30")
    index.add(name, objects)
    findings = [f for o in objects for f in evaluate(o, index.context(o.scope))]
    assert at_or_above(findings, "warning") == []
    assert {o.kind for o in objects} >= {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                                         "NetworkPolicy", "ConfigMap", "ServiceAccount"}


def test_kit_probes_point_at_the_reference_service_health_endpoints(render: tuple[str, list[ManifestObject]]) -> None:
    [container] = by_kind(render[1], "Deployment").containers()
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    probes = {key: (container[key]["httpGet"]["path"], port[container[key]["httpGet"]["port"]])
              for key in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes == {"startupProbe": ("/health", 8000), "livenessProbe": ("/health/live", 8000),
                      "readinessProbe": ("/health/ready", 8000)}


def test_kit_keeps_three_replicas_and_a_consistent_budget(render: tuple[str, list[ManifestObject]]) -> None:
    objects = render[1]
    deployment, hpa = by_kind(objects, "Deployment"), by_kind(objects, "HorizontalPodAutoscaler")
    assert deployment.spec["replicas"] >= 3 and hpa.spec["minReplicas"] >= 3
    assert deployment.spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert by_kind(objects, "PodDisruptionBudget").spec["minAvailable"] < hpa.spec["minReplicas"]


def test_kit_secrets_come_from_a_secret_that_is_not_in_git(render: tuple[str, list[ManifestObject]]) -> None:
    objects = render[1]
    [container] = by_kind(objects, "Deployment").containers()
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert refs == {"REDIS_URL": "artemis-secrets", "DATABASE_URL": "artemis-secrets",
                    "OPENAI_API_KEY": "artemis-secrets", "ARTEMIS_METRICS_TOKEN": "artemis-secrets"}
    assert not any(o.kind == "Secret" for o in objects)


def test_overlays_set_namespace_and_image_and_production_pins_a_digest() -> None:
    images = {}
    for name in RENDERS:
        objects = load_source(KIT / name / "kustomization.yaml", ROOT)
        deployment = by_kind(objects, "Deployment")
        images[name] = (deployment.metadata.get("namespace"), next(deployment.containers())["image"])
    assert images["base"] == (None, "ghcr.io/artemis/reference-service:0.1.0")
    assert images["overlays/staging"] == ("artemis-staging", "ghcr.io/artemis/reference-service:0.1.0-rc.1")
    namespace, image = images["overlays/production"]
    assert namespace == "artemis-production" and image.startswith("ghcr.io/artemis/reference-service@sha256:")


def test_monitoring_folder_renders_prometheus_config_and_rules() -> None:
    objects = load_source(KIT / "monitoring" / "kustomization.yaml", ROOT)
    data = {o.name: sorted(o.doc.get("data", {})) for o in objects if o.kind == "ConfigMap"}
    assert data == {"prometheus-config": ["prometheus.yml"],
                    "prometheus-rules": ["artemis-alerts.yaml", "artemis-recording.yaml"]}


def test_gate_on_the_kit_passes_with_no_test_code(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--artemis-manifests", str(KIT), "-m", "manifests",
                                           "--artemis-verdict", "v.json",
                                           "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 27 and "failed" not in outcomes and "error" not in outcomes
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert verdict["verdict"] == "GO"
    assert {f["severity"] for f in verdict["findings"]} <= {"info"}
