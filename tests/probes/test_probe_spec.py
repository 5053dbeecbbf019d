"""Reading probe specs from manifests: the kit's Deployment rendered by kustomize, plain files, several containers
or Deployments, kustomize patches, Kubernetes' defaults, and the one-line skips and errors of the fixtures."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from probes_support import DATA, KIT, KIT_DEPLOYMENT, ROOT, line_of

from pytest_artemis.probes.spec import NoDeploymentError, ProbeSpecError, read_pod_probes

TIGHT = DATA / "tight-probes.yaml"


def kit_line(text: str) -> int:
    return line_of(KIT_DEPLOYMENT, text, after="- name: api")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_the_kits_deployment_gives_each_probe_with_its_timings_and_line() -> None:
    pod = read_pod_probes([KIT], ROOT)
    assert (pod.workload, pod.container, pod.source, pod.serving_port) == (
        "Deployment/artemis", "api", "manifests/base/kustomization.yaml", 8000)
    figures = {kind: (p.path, p.port_text(), p.timeout_seconds, p.period_seconds, p.failure_threshold,
                      p.initial_delay_seconds, str(p.location)) for kind, p in pod.probes.items()}
    assert figures == {
        "startup": ("/health", "http (8000)", 2, 5, 24, 0,
                    f"manifests/base/deployment.yaml:{kit_line('startupProbe:')}"),
        "readiness": ("/health/ready", "http (8000)", 2, 5, 2, 0,
                      f"manifests/base/deployment.yaml:{kit_line('readinessProbe:')}"),
        "liveness": ("/health/live", "http (8000)", 2, 10, 3, 0,
                     f"manifests/base/deployment.yaml:{kit_line('livenessProbe:')}"),
    }
    assert pod.probes["startup"].window_seconds == 120
    assert pod.probes["readiness"].label() == (
        f"readinessProbe GET /health/ready (manifests/base/deployment.yaml:{kit_line('readinessProbe:')})")
    assert (pod.termination_grace_seconds, str(pod.grace_location)) == (
        45, f"manifests/base/deployment.yaml:{line_of(KIT_DEPLOYMENT, 'terminationGracePeriodSeconds: ')}")
    assert (pod.pre_stop, pod.pre_stop_sleep_seconds, str(pod.pre_stop_location)) == (
        "sleep 10 s", 10.0, f"manifests/base/deployment.yaml:{kit_line('preStop:')}")
    assert pod.env["ARTEMIS_DRAIN_SECONDS"] == "5"  # from the ConfigMap through envFrom
    assert pod.notes == ()


def test_the_production_overlay_reaches_the_api_container_through_the_services_port() -> None:
    pod = read_pod_probes([ROOT / "manifests" / "overlays" / "production"], ROOT, target_port=80)
    assert (pod.container, pod.serving_port) == ("api", 8000)
    assert pod.source == "manifests/overlays/production/kustomization.yaml"
    assert str(pod.probes["readiness"].location) == f"manifests/base/deployment.yaml:{kit_line('readinessProbe:')}"


def test_a_probe_changed_by_a_kustomize_patch_says_so_next_to_its_line(tmp_path: Path) -> None:
    base = os.path.relpath(KIT, tmp_path / "overlay")
    write(tmp_path / "overlay" / "kustomization.yaml", f"""
        resources:
          - {base}
        patches:
          - path: slower.yaml
        """)
    write(tmp_path / "overlay" / "slower.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: artemis
        spec:
          template:
            spec:
              containers:
                - name: api
                  readinessProbe:
                    timeoutSeconds: 4
        """)
    pod = read_pod_probes([tmp_path / "overlay"], tmp_path)
    readiness, liveness = pod.probes["readiness"], pod.probes["liveness"]
    assert readiness.timeout_seconds == 4
    assert str(readiness.location).endswith(f"manifests/base/deployment.yaml:{kit_line('readinessProbe:')} "
                                            "(changed by a patch of overlay/kustomization.yaml)")
    assert str(liveness.location).endswith(f"deployment.yaml:{kit_line('livenessProbe:')}")


def test_a_plain_file_with_a_sidecar_gives_the_probed_container_and_kubernetes_defaults() -> None:
    pod = read_pod_probes([TIGHT], DATA)
    assert (pod.workload, pod.container, pod.serving_port) == ("Deployment/tight", "api", 8000)
    assert pod.notes == ("2 containers: checked api (the one with httpGet probes)",)
    startup, readiness, liveness = pod.probes["startup"], pod.probes["readiness"], pod.probes["liveness"]
    assert (startup.timeout_seconds, startup.window_seconds) == (1, 2)  # timeoutSeconds left out: 1 s
    assert (liveness.period_seconds, liveness.failure_threshold, liveness.window_seconds) == (10, 3, 30)
    assert readiness.port_text() == "8000"
    assert str(startup.location) == f"tight-probes.yaml:{line_of(TIGHT, 'startupProbe:')}"
    assert (pod.termination_grace_seconds, pod.pre_stop_sleep_seconds) == (3, 2.0)
    assert pod.pre_stop == "exec /bin/sh -c sleep 2" and pod.env == {"ARTEMIS_DRAIN_SECONDS": "2"}


def test_with_several_containers_the_one_serving_the_target_port_is_picked(tmp_path: Path) -> None:
    manifest = write(tmp_path / "two.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: shop}
        spec:
          selector: {matchLabels: {app: shop}}
          template:
            metadata: {labels: {app: shop}}
            spec:
              containers:
                - name: web
                  ports: [{name: http, containerPort: 8080}]
                  readinessProbe: {httpGet: {path: /ready, port: http}}
                - name: api
                  ports: [{name: api, containerPort: 9000}]
                  readinessProbe: {httpGet: {path: /api/ready, port: api}, timeoutSeconds: 3}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: shop-api}
        spec:
          selector: {app: shop}
          ports: [{port: 443, targetPort: api}]
        """)
    through_service = read_pod_probes([manifest], tmp_path, target_port=443)
    assert (through_service.container, through_service.serving_port) == ("api", 9000)
    assert through_service.probes["readiness"].path == "/api/ready"
    assert through_service.notes == ("2 containers: checked api, which serves port 443",)
    unknown_port = read_pod_probes([manifest], tmp_path, target_port=5555)
    assert unknown_port.container == "web"
    assert unknown_port.notes == ("2 containers, none declares port 5555: checked web (the one with httpGet probes)",)


def test_with_several_deployments_the_one_with_http_probes_or_the_one_named_is_read(tmp_path: Path) -> None:
    manifest = write(tmp_path / "many.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: worker}
        spec:
          template: {spec: {containers: [{name: worker, image: w}]}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - name: web
                  livenessProbe: {httpGet: {path: /live, port: 80}}
        """)
    picked = read_pod_probes([manifest], tmp_path)
    assert picked.workload == "Deployment/web" and "checked Deployment/web" in picked.notes[0]
    named = read_pod_probes([manifest], tmp_path, deployment="worker")
    assert (named.workload, dict(named.probes)) == ("Deployment/worker", {})
    assert str(named.grace_location) == "many.yaml:1 (terminationGracePeriodSeconds not set: the default 30 s)"


def test_manifests_without_a_deployment_or_broken_ones_raise_one_line_naming_the_files(tmp_path: Path) -> None:
    with pytest.raises(NoDeploymentError) as none:
        read_pod_probes([DATA / "no-deployment.yaml"], DATA)
    assert str(none.value) == ("no Deployment in no-deployment.yaml (read no-deployment.yaml): no probe spec to "
                               "check the target against; name the manifests with --artemis-manifests PATH")
    broken = write(tmp_path / "broken.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: [\n")
    with pytest.raises(ProbeSpecError, match=r"^cannot read the probes: broken.yaml:\d+: invalid YAML"):
        read_pod_probes([broken], tmp_path)


FIXTURE_SUITE = '''
import pytest

pytestmark = pytest.mark.probes


@pytest.mark.parametrize("artemis_probe_spec", ["liveness", "readiness"], indirect=True)
def test_probe(artemis_probe_spec):
    assert artemis_probe_spec.http
'''


def test_the_fixture_skips_a_probe_the_container_does_not_declare_and_errors_on_broken_manifests(
        pytester: pytest.Pytester) -> None:
    write(pytester.path / "app.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app}
        spec:
          template:
            spec:
              containers:
                - name: app
                  readinessProbe: {exec: {command: [cat, /tmp/ready]}}
        """)
    write(pytester.path / "broken.yaml", "kind: Deployment\nmetadata: [\n")
    pytester.makepyfile(test_fixture=FIXTURE_SUITE)
    common = ["-m", "probes", "-p", "pytest_artemis.fixtures.probes", "-p", "no:cacheprovider", "-rs",
              f"--artemis-artifacts={pytester.path / 'artifacts'}"]
    result = pytester.runpytest("test_fixture.py", "--artemis-manifests=app.yaml", *common)
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines([
        ("SKIPPED * Deployment/app container app (app.yaml:8) declares no livenessProbe: nothing to check (the "
         "manifest gate reports probe-liveness-missing)"),
        ("SKIPPED * readinessProbe exec (app.yaml:9) is not an httpGet probe: only httpGet probes are checked "
         "against the target")], consecutive=False)
    broken = pytester.runpytest("test_fixture.py", "--artemis-manifests=broken.yaml", *common)
    broken.assert_outcomes(errors=2)
    broken.stdout.fnmatch_lines(["*cannot read the probes: broken.yaml:*: invalid YAML*"])
