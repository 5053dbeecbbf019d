"""Protected monitoring: /metrics behind a bearer token and a port of its own, scraped with the token from a file."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from pytest_artemis.errors import ServiceStartError
from pytest_artemis.services.prometheus import JOB, PrometheusServer, find_binary, scrape_config
from pytest_artemis.services.target import metrics
from pytest_artemis.services.target.control import Target, start_reference_service
from pytest_artemis.services.target.faults import FaultError, Settings

ROOT = Path(__file__).resolve().parents[2]
needs_prometheus = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs `apt-get install prometheus`")
TOKEN = "metrics-token-for-tests-0123"


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A reference service whose /metrics wants TOKEN and is served on a port of its own."""
    service = start_reference_service(tmp_path_factory.mktemp("protected"), base_env=os.environ, name="protected",
                                      metrics_token=TOKEN, metrics_port=True)
    yield service
    service.stop()


def auth_failures(service: Target) -> float:
    text = httpx.get(service.metrics_url, headers=service.metrics_headers).text
    prefix = f'{metrics.AUTH_FAILURES_TOTAL}{{endpoint="/metrics"}} '
    return next((float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix)), 0.0)


# ---------------------------------------------------------------------- the service


def test_metrics_without_the_token_answer_401_a_wrong_one_403_and_the_token_200(protected: Target) -> None:
    before = auth_failures(protected)
    missing = httpx.get(protected.metrics_url)
    wrong = httpx.get(protected.metrics_url, headers={"Authorization": "Bearer not-the-token"})
    right = httpx.get(protected.metrics_url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 403, 200)
    assert missing.headers["www-authenticate"] == 'Bearer realm="artemis-metrics"'
    assert metrics.REQUESTS_TOTAL in right.text
    assert auth_failures(protected) == before + 2, "refused scrapes are counted as failed auths"


def test_basic_auth_with_the_token_as_password_is_accepted_as_the_kit_prometheus_sends_it(protected: Target) -> None:
    assert httpx.get(protected.metrics_url, auth=("prometheus", TOKEN)).status_code == 200
    assert httpx.get(protected.metrics_url, auth=("prometheus", "wrong")).status_code == 403
    assert httpx.get(protected.metrics_url, headers={"Authorization": "Basic !!not-base64"}).status_code == 403


def test_the_metrics_port_serves_only_metrics_and_the_main_port_everything_else(protected: Target) -> None:
    assert protected.metrics_port is not None and protected.scrape_url != protected.url
    assert httpx.get(protected.url + "/metrics", headers=protected.metrics_headers).status_code == 404
    assert httpx.get(protected.scrape_url + "/health/ready").status_code == 404
    assert httpx.get(protected.scrape_url + "/admin/faults").status_code == 404
    assert httpx.get(protected.url + "/health/ready").status_code == 200
    assert protected.admin is not None and protected.admin.get()["latency_ms"] == 0


def test_the_token_alone_protects_metrics_on_the_main_port(reference_service_factory) -> None:
    service = reference_service_factory(metrics_token=True)
    assert service.metrics_port is None and service.metrics_url == service.url + "/metrics"
    assert service.metrics_token and len(service.metrics_token) >= 16, "True draws a random token"
    assert httpx.get(service.metrics_url).status_code == 401
    assert httpx.get(service.metrics_url, headers=service.metrics_headers).status_code == 200


def test_an_unprotected_service_keeps_metrics_open_on_its_one_port(target) -> None:
    assert (target.metrics_token, target.metrics_port, target.scrape_url) == (None, None, target.url)
    assert httpx.get(target.url + "/metrics").status_code == 200


def test_the_session_metrics_variables_do_not_leak_into_a_managed_service(reference_service_factory,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTEMIS_METRICS_TOKEN", "from-the-session")
    monkeypatch.setenv("ARTEMIS_METRICS_PORT", "1")
    service = reference_service_factory()
    assert (service.metrics_token, service.metrics_port) == (None, None)
    assert httpx.get(service.url + "/metrics").status_code == 200


@pytest.mark.parametrize("raw", ["0", "http", "9102.5"])
def test_a_bad_metrics_port_variable_is_refused_with_its_name(raw: str) -> None:
    with pytest.raises(FaultError, match=r"ARTEMIS_METRICS_PORT: expected a (whole )?number from 1 to 65535"):
        Settings.from_env({"ARTEMIS_METRICS_PORT": raw})
    assert Settings.from_env({"ARTEMIS_METRICS_TOKEN": " t0k3n ", "ARTEMIS_METRICS_PORT": "9102"}).metrics_port == 9102


# ---------------------------------------------------------------------- the embedded Prometheus


def test_the_generated_config_sends_the_token_from_a_file_and_never_inlines_it() -> None:
    config = scrape_config("http://127.0.0.1:9102", [], Path("/private/metrics-token"))
    (job,) = config["scrape_configs"]  # type: ignore[misc]
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/private/metrics-token"}
    assert "authorization" not in scrape_config("http://127.0.0.1:9102", [])["scrape_configs"][0]  # type: ignore[index]


@needs_prometheus
def test_prometheus_scrapes_a_protected_service_with_its_token_kept_in_a_private_file(protected: Target,
                                                                                     tmp_path: Path) -> None:
    server = PrometheusServer(protected.scrape_url, binary=find_binary(None), log_dir=tmp_path,
                              metrics_token=protected.metrics_token, workdir_root=tmp_path / "tmp")
    server.start()
    try:
        client = server.client()
        assert client.query_value(f'max(up{{job="{JOB}"}})') == 1
        (scraped,) = client.targets()
        assert scraped.url == protected.metrics_url and scraped.health == "up"
        workdir = server.workdir
        assert workdir is not None and workdir.parent == tmp_path / "tmp"
        token_file = workdir / "metrics-token"
        assert token_file.read_text() == TOKEN
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and stat.S_IMODE(workdir.stat().st_mode) == 0o700
        assert TOKEN not in (workdir / "prometheus.yml").read_text(), "the config names the file, not the token"
        assert server.process is not None and TOKEN not in " ".join(server.process.argv)
        client.close()
    finally:
        server.stop()
    assert not workdir.exists(), "stop removes the token file with the rest"


@needs_prometheus
def test_prometheus_with_a_wrong_token_reports_the_target_down(protected: Target, tmp_path: Path) -> None:
    server = PrometheusServer(protected.scrape_url, binary=find_binary(None), log_dir=tmp_path,
                              metrics_token="not-the-token", workdir_root=tmp_path)
    server.start(require_up=False)
    try:
        client = server.client()
        assert client.query_value(f'max(up{{job="{JOB}"}})') == 0
        (scraped,) = client.targets()
        assert scraped.health == "down" and "403" in scraped.last_error
        client.close()
    finally:
        server.stop()


@needs_prometheus
def test_a_wrong_token_fails_a_start_that_waits_for_up_naming_the_refusal(protected: Target, tmp_path: Path) -> None:
    server = PrometheusServer(protected.scrape_url, binary=find_binary(None), log_dir=tmp_path,
                              metrics_token="not-the-token", workdir_root=tmp_path)
    with pytest.raises(ServiceStartError, match=r"Prometheus cannot scrape .*/metrics: .*403 Forbidden"):
        server.start(timeout=8)
    assert list(tmp_path.glob("artemis-prometheus-*")) == []


@needs_prometheus
def test_the_session_fixtures_scrape_a_reference_service_started_protected(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest

        @pytest.fixture(scope="session")
        def artemis_reference_options():
            return {"metrics_token": True, "metrics_port": True}
    """)
    pytester.makepyfile("""
        import httpx

        def test_prometheus_scrapes_the_protected_target(prom, target):
            assert target.metrics_token and target.metrics_port
            assert httpx.get(target.metrics_url).status_code == 401
            assert prom.query_value('max(up{job="artemis"})') == 1
            assert [t.url for t in prom.targets()] == [target.metrics_url]
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


# ---------------------------------------------------------------------- the kit


def _kit(path: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]


def test_the_kit_exposes_a_metrics_port_that_only_prometheus_may_reach() -> None:
    (deployment,) = _kit("manifests/base/deployment.yaml")
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    (configmap,) = _kit("manifests/base/configmap.yaml")
    assert ports["metrics"] == int(configmap["data"]["ARTEMIS_METRICS_PORT"]) != ports["http"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"])
    env = {e["name"]: e for e in container["env"]}
    assert env["ARTEMIS_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "artemis-secrets",
                                                                         "key": "metrics-token"}
    policy = next(p for p in _kit("manifests/base/networkpolicy.yaml") if p["metadata"]["name"] == "artemis-ingress")
    by_port: dict[str, list[dict]] = {}
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).extend(rule["from"])
    assert by_port["metrics"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                                   "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
    assert all(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] != "prometheus"
               for peer in by_port["http"]), "Prometheus reaches the metrics port only"


def test_the_kit_prometheus_reads_the_token_from_a_mounted_secret() -> None:
    (config,) = _kit("manifests/monitoring/prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["basic_auth"]["password_file"].startswith("/etc/prometheus/secrets/")
    assert "password" not in job["basic_auth"] and "authorization" not in job
