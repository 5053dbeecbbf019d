"""PromQL helpers (series names, Grafana variables) and the metric inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_artemis.checks.rules import promql
from pytest_artemis.checks.rules.inventory import build_inventory, parse_inventory_text
from pytest_artemis.errors import RuleError


@pytest.mark.parametrize(("expr", "names"), [
    ("sum by (job) (rate(a_total[5m])) / on (job) b", {"a_total", "b"}),
    ('{__name__="c"} + d offset 5m', {"c", "d"}),
    ('{__name__=~"e.*"} * max_over_time(f[10m:1m])', {"f"}),
    ("histogram_quantile(0.95, sum by (le) (rate(g_bucket[5m])))", {"g_bucket"}),
    ("vector(1)", set()),
])
def test_series_names_lists_every_selected_metric(expr: str, names: set[str]) -> None:
    assert promql.series_names(expr) == names


def test_invalid_promql_raises_the_project_error_with_the_reason() -> None:
    with pytest.raises(RuleError, match="unclosed left parenthesis"):
        promql.parse("sum(rate(x[5m])")


@pytest.mark.parametrize(("query", "expanded"), [
    ("rate(x[$__rate_interval])", "rate(x[1m])"),
    ('x{job=~"$job", pool="${pool}"}', 'x{job=~".*", pool=".*"}'),
    ("topk($n, x)", "topk(var, x)"),
    ('x{job="[[job]]"}', 'x{job=".*"}'),
])
def test_grafana_variables_are_replaced_so_queries_parse(query: str, expanded: str) -> None:
    assert promql.expand_grafana_variables(query) == expanded


def test_an_inventory_file_may_be_a_list_or_a_metrics_page() -> None:
    text = """# comment
plain_metric
# HELP req_seconds Request time.
# TYPE req_seconds histogram
req_seconds_bucket{le="0.1"} 3
# TYPE jobs counter
jobs_total 4
"""
    assert parse_inventory_text(text) >= {"plain_metric", "req_seconds_bucket", "req_seconds_sum",
                                          "req_seconds_count", "jobs", "jobs_total"}


def test_the_kit_inventory_holds_service_metrics_rules_and_kube_state_metrics() -> None:
    root = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"
    inventory = build_inventory((root,))
    assert inventory.knows("artemis_http_requests_total")
    assert inventory.knows("artemis:defcon_level")
    assert inventory.knows("kube_deployment_status_replicas_unavailable")
    assert not inventory.knows("shop_orders_total")
