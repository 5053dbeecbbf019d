"""The dashboard gate on public-style dashboards: no finding the gate cannot back.

The corpus (``tests/data/dashboards/public``) is written in the shapes of popular dashboards: Node Exporter
Full (``$__rate_interval``, ``$__interval``, ``${datasource}``, a collapsed row, a repeated row), a MySQL
overview exported for sharing (``__inputs`` with ``${DS_PROMETHEUS}`` and ``${DS_LOKI}``, an interval variable
``$interval``, a custom ``$topk``, a library panel, a text and a Loki logs panel) and the NGINX ingress
controller's (a repeated panel, a mixed-datasource panel with a Loki query, a hidden half-written query, a
table). Grafana accepts all three; so must the gate, and with an inventory it still finds unknown series.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.checks.dashboards.checks import DashboardContext
from pytest_artemis.checks.dashboards.model import load_dashboard, schema_errors
from pytest_artemis.checks.registry import checks_for
from pytest_artemis.checks.rules.inventory import Inventory, parse_inventory_text, recorded_names
from pytest_artemis.findings import Finding

DATA = Path(__file__).resolve().parents[1] / "data"
PUBLIC = DATA / "dashboards" / "public"
BOARDS = ("ingress-nginx.json", "mysql-overview.json", "node-exporter-full.json")
INVENTORY = DATA / "rules" / "public-inventory.txt"

#: The panels of the ingress dashboard whose series a scrape of node_exporter and mysqld_exporter never yields.
INGRESS_UNKNOWN = [
    ("20 Controller Request Volume", "A", "nginx_ingress_controller_requests"),
    ("21 Controller Success Rate (non-4|5xx responses)", "A", "nginx_ingress_controller_requests"),
    ("22 Config Reloads", "A", "nginx_ingress_controller_success"),
    ("32 Average Memory Usage", "A", "nginx_ingress_controller_nginx_process_resident_memory_bytes"),
    ("82 Controller Connections", "A", "nginx_ingress_controller_nginx_process_connections"),
    ("85 Ingress Percentile Response Times and Transfer Rates", "A",
     "nginx_ingress_controller_request_duration_seconds_bucket"),
    ("85 Ingress Percentile Response Times and Transfer Rates", "B",
     "nginx_ingress_controller_request_duration_seconds_bucket"),
    ("85 Ingress Percentile Response Times and Transfer Rates", "C", "nginx_ingress_controller_request_size_sum"),
    ("86 Ingress Request Volume $ingress", "A", "nginx_ingress_controller_requests"),
    ("90 Config reloads and reload log lines", "A", "nginx_ingress_controller_success"),
]


def _verdict(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _core(path: Path, inventory: Inventory | None) -> list[Finding]:
    ctx = DashboardContext(file=path.name, inventory=inventory)
    dashboard = load_dashboard(path)
    return [f for c in checks_for("dashboards", groups=["core"]) for f in c(dashboard, ctx)]


def _exporters_inventory() -> Inventory:
    names = frozenset(parse_inventory_text(INVENTORY.read_text(encoding="utf-8")))
    return Inventory(names, recorded_names([DATA / "rules" / "public"]), ("the metric inventory metrics.txt",))


@pytest.fixture
def boards(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(PUBLIC, pytester.path / "boards")
    shutil.copy(INVENTORY, pytester.path / "metrics.txt")
    return pytester


def test_public_dashboards_without_an_inventory_pass_with_only_the_gates_one_notice(boards: pytest.Pytester) -> None:
    verdict = boards.path / "verdict.json"
    result = boards.runpytest("--artemis-dashboards", "boards", "-m", "dashboards", f"--artemis-verdict={verdict}",
                              "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=4, skipped=3)  # checks of each, the gate's known-series; theme: not tagged artemis
    result.stdout.fnmatch_lines(["PASSED boards/ingress-nginx.json::known-series"])
    data = _verdict(verdict)
    assert [(f["check"], f["severity"], f["name"], f["message"], f["nodeid"]) for f in data["findings"]] == [
        ("dashboard-query-unknown-series", "info", "dashboards gate",
         "series not checked for 3 dashboards: no inventory or Prometheus given", "boards/ingress-nginx.json::known-series")]
    assert data["verdict"] == "GO"


def test_with_an_inventory_unknown_series_are_still_found_and_nothing_else(boards: pytest.Pytester,
                                                                           data_dir: Path) -> None:
    shutil.copytree(data_dir / "rules" / "public", boards.path / "rules")  # the node rules record what panel 43 reads
    verdict = boards.path / "verdict.json"
    result = boards.runpytest("--artemis-dashboards", "boards", "--artemis-rules", "rules", "-m", "dashboards",
                              "--artemis-metric-inventory=metrics.txt", f"--artemis-verdict={verdict}", "-p",
                              "no:cacheprovider")
    result.assert_outcomes(passed=3, skipped=3)  # every dashboard had a source: no known-series item
    assert [(f["check"], f["severity"], f["file"], f["name"], f["message"]) for f in _verdict(verdict)["findings"]] == [
        ("dashboard-query-unknown-series", "warning", "boards/ingress-nginx.json", name,
         f"query {ref} reads unknown series {series} (not produced by a rule, not in the metric inventory metrics.txt)")
        for name, ref, series in INGRESS_UNKNOWN]


@pytest.mark.parametrize("board", BOARDS)
def test_every_core_check_accepts_the_public_dashboard(board: str) -> None:
    assert [(f.check, f.name, f.message) for f in _core(PUBLIC / board, _exporters_inventory())
            if f.check != "dashboard-query-unknown-series"] == []


@pytest.mark.parametrize(("board", "unknown"), [
    pytest.param("node-exporter-full.json", [], id="node exporter: every series in the exporters' inventory"),
    pytest.param("mysql-overview.json", [], id="mysql: every series in the exporters' inventory"),
    pytest.param("ingress-nginx.json", INGRESS_UNKNOWN, id="ingress controller: none of its series are"),
])
def test_unknown_series_are_exactly_those_no_source_lists(board: str, unknown: list[tuple[str, str, str]]) -> None:
    found = [f for f in _core(PUBLIC / board, _exporters_inventory()) if f.check == "dashboard-query-unknown-series"]
    assert sorted((f.name, f.message.split()[1], f.message.split()[5]) for f in found) == unknown


def test_a_library_panel_reference_without_a_type_is_in_grafanas_model() -> None:
    document = load_dashboard(PUBLIC / "mysql-overview.json").document
    assert any("libraryPanel" in p and "type" not in p for p in document["panels"])
    assert schema_errors(document) == []
    broken = {**document, "panels": [{"id": 1, "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}}]}
    assert schema_errors(broken) == ["panels.0: 'type' is a required property"]


@pytest.mark.parametrize(("board", "queries"), [
    pytest.param("mysql-overview.json", ["92 A", "92 B", "12 A", "53 A", "14 A"],
                 id="mysql: the ${DS_LOKI} logs panel is not Prometheus (via __inputs)"),
    pytest.param("ingress-nginx.json", ["20 A", "82 A", "21 A", "22 A", "86 A", "90 A", "85 A", "85 B", "85 C", "32 A"],
                 id="ingress: the Loki target of the mixed panel, the logs panel and the hidden query are left out"),
    pytest.param("node-exporter-full.json", ["20 A", "15 A", "74 A", "78 A", "78 B", "24 A", "24 B", "136 A",
                                             "136 B", "42 A", "43 A"],
                 id="node: the queries of the collapsed and the repeated row are read"),
])
def test_the_gate_reads_the_queries_grafana_sends_to_prometheus(board: str, queries: list[str]) -> None:
    dashboard = load_dashboard(PUBLIC / board)
    assert [f"{p.id} {t.ref_id}" for p, t in dashboard.prometheus_queries()] == queries


def test_custom_and_interval_variables_are_filled_in_as_grafana_does() -> None:
    dashboard = load_dashboard(PUBLIC / "mysql-overview.json")
    assert dashboard.variable_values() == {"interval": "$__auto_interval_interval", "topk": "5"}
    assert [f.message for f in _core(PUBLIC / "mysql-overview.json", None)] == []
