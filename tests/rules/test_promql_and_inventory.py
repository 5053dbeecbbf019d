"""PromQL helpers (series names, Grafana variables) and the metric inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_artemis.checks.rules import promql
from pytest_artemis.checks.rules.inventory import Inventory, build_inventory, parse_inventory_text
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
    ("sum by ($group) (x)", "sum by (var) (x)"),
    ('x{job="[[job]]"}', 'x{job=".*"}'),
    ("rate(x[$interval])", "rate(x[1m])"),
    ("avg_over_time(x[${__interval}] offset $shift)", "avg_over_time(x[1m] offset 1m)"),
    ("max_over_time(x[$__range:$__interval])", "max_over_time(x[1h:1m])"),
    ("x @ ${__to:date:seconds}", "x @ 1700000000"),
    ("sum by ($group) (x{path=~'/api/$version/.*'})", "sum by (var) (x{path=~'/api/.*/.*'})"),
])
def test_grafana_variables_are_replaced_so_queries_parse(query: str, expanded: str) -> None:
    assert promql.expand_grafana_variables(query) == expanded
    assert promql.parses(expanded)


@pytest.mark.parametrize(("query", "values", "expanded"), [
    ("topk($topk, rate(x[$interval]))", {"topk": "5", "interval": "$__auto_interval_interval"},
     "topk(5, rate(x[1m]))"),
    ("histogram_quantile($q, rate(x_bucket[5m]))", {"q": "0.99"}, "histogram_quantile(0.99, rate(x_bucket[5m]))"),
    ("rate(x[$window])", {"window": "10m"}, "rate(x[10m])"),
    ('x{env="$env"}', {"env": "prod"}, 'x{env=".*"}'),
])
def test_a_dashboards_own_variable_values_are_used_where_they_keep_the_query_valid(
    query: str, values: dict[str, str], expanded: str
) -> None:
    assert promql.expand_grafana_variables(query, values) == expanded


def test_a_variable_of_unknown_value_may_be_a_number_so_either_reading_parses() -> None:
    readings = promql.query_candidates("topk($n, rate(x[5m]))")
    assert readings == ["topk(var, rate(x[5m]))", "topk(1, rate(x[5m]))"]
    assert [promql.parses(r) for r in readings] == [False, True]


def test_a_name_matcher_of_a_variable_needs_a_value_that_is_not_empty() -> None:
    readings = promql.query_candidates('{__name__=~"$metric"}')
    assert readings == ['{__name__=~".*"}', '{__name__=~".+"}']
    assert [promql.parses(r) for r in readings] == [False, True]


@pytest.mark.parametrize(("query", "names"), [
    ("sum(rate(${prefix}_requests_total[5m]))", set()),
    ("topk($n, node_load1)", {"node_load1"}),
    ('{__name__=~"$metric"} + up', {"up"}),
    ("rate(node_cpu_seconds_total{instance=\"$node\"}[$__rate_interval])", {"node_cpu_seconds_total"}),
])
def test_dashboard_query_series_are_only_the_names_the_query_spells_out(query: str, names: set[str]) -> None:
    assert promql.query_series_names(query) == names


@pytest.mark.parametrize(("query", "logql"), [
    ('{job="mysql"} |= "ERROR"', True),
    ('{app="x"} |~ "(?i)error" | logfmt | level != "debug"', True),
    ('sum(count_over_time({app="x"} | json [5m]))', True),
    ('sum(rate(x{status!~"5.."}[5m]))', False),
    ("a or b", False),
])
def test_log_queries_are_told_from_promql(query: str, logql: bool) -> None:
    assert promql.looks_like_logql(query) is logql


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


def test_series_prometheus_writes_itself_are_known_to_every_source() -> None:
    empty = Inventory(frozenset(), frozenset(), ())
    assert all(empty.knows(n) for n in ("up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"))
    assert not empty.knows("node_load1")


def test_the_kit_inventory_holds_service_metrics_rules_and_kube_state_metrics() -> None:
    root = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"
    inventory = build_inventory((root,))
    assert inventory.knows("artemis_http_requests_total")
    assert inventory.knows("artemis:defcon_level")
    assert inventory.knows("kube_deployment_status_replicas_unavailable")
    assert not inventory.knows("shop_orders_total")
