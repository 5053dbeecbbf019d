"""The kit deploys what is gated: the dashboard ConfigMap for Grafana's sidecar, the rule files Prometheus loads."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (for kubectl kustomize) is not installed")
def test_the_dashboard_configmap_carries_the_sidecar_label_and_the_dashboard_json() -> None:
    rendered = subprocess.run(["kubectl", "kustomize", str(ROOT / "dashboards")], capture_output=True, text=True,
                              timeout=60, check=True).stdout
    (configmap,) = [d for d in yaml.safe_load_all(rendered) if d]
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads(configmap["data"]["artemis-command-dashboard.json"])
    assert shipped == json.loads((ROOT / "dashboards" / "artemis-command-dashboard.json").read_text())


def test_the_prometheus_config_loads_every_kit_rule_file_and_scrapes_every_5_seconds() -> None:
    config_path = ROOT / "manifests" / "monitoring" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    loaded = {Path(p).resolve() for pattern in config["rule_files"]
              for p in glob.glob(str(config_path.parent / pattern))}
    assert loaded == {p.resolve() for p in (ROOT / "manifests" / "monitoring" / "rules").glob("*.yaml")}
    assert len(loaded) == 2
    assert config["global"]["scrape_interval"] == "5s"
    assert all(s["scrape_interval"] == "5s" for s in config["scrape_configs"])
    assert config["alerting"]["alertmanagers"]
