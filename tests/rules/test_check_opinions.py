"""Opinions are labelled: every manifests, rules and dashboards check beyond what the real tool enforces says why
and how to turn it off in docs/checks.md, and its default severity matches its weight."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import pytest_artemis.checks.dashboards
import pytest_artemis.checks.manifests
import pytest_artemis.checks.rules  # noqa: F401 - the areas register their checks on import
from pytest_artemis.checks.registry import REGISTRY, checks_for

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "checks.md"
#: What promtool, Prometheus' PromQL parser, Grafana's dashboard model or the Kubernetes API reject (or a file
#: the real tool cannot read at all): the real tool's rules.
TOOL_BACKED = frozenset({
    "promtool-check-config", "promtool-check-rules", "promtool-unit-test", "rule-yaml-invalid",
    "rule-structure-invalid", "rule-promql-invalid", "dashboard-json-invalid", "dashboard-schema",
    "dashboard-query-invalid", "schema", "manifest-unreadable", "manifest-no-objects", "selector-labels-mismatch",
})
AREAS = ("manifests", "rules", "dashboards")
OPINIONS = sorted(c.id for area in AREAS for c in checks_for(area) if c.id not in TOOL_BACKED)


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("check_id", OPINIONS)
def test_an_opinion_says_in_docs_why_it_exists_and_how_to_turn_it_off(check_id: str) -> None:
    registered = REGISTRY[check_id]
    assert registered.why, f"{check_id} goes beyond the real tool but does not say why"
    row = f"| `{check_id}` | {registered.severity} | {registered.why} | {_generator().turn_off(registered)} |"
    assert row in DOCS.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("check_id", sorted(TOOL_BACKED))
def test_what_the_real_tool_rejects_is_not_labelled_an_opinion(check_id: str) -> None:
    assert not REGISTRY[check_id].opinion


@pytest.mark.parametrize(("check_id", "severity"), [
    pytest.param("rule-alert-runbook-missing", "info", id="runbook missing is info"),
    pytest.param("rule-alert-severity", "warning", id="a missing severity label is a warning, another value info"),
    pytest.param("rule-unknown-series", "warning", id="an unknown series is a warning"),
    pytest.param("dashboard-query-unknown-series", "warning", id="an unknown panel series is a warning"),
    pytest.param("probe-readiness-missing", "critical", id="no readiness probe breaks a release"),
    pytest.param("security-privileged", "critical", id="a privileged container is critical"),
    pytest.param("secret-in-env", "critical", id="a secret in plain env is critical"),
    pytest.param("service-selector-no-match", "critical", id="a Service with no endpoints is critical"),
    pytest.param("pdb-blocks-eviction", "warning", id="a budget that blocks drains is a warning: the release runs"),
    pytest.param("probe-startup-missing", "info", id="no startup probe is advisory"),
    pytest.param("resources-requests-from-limits", "info", id="requests copied from limits is advisory"),
])
def test_an_opinions_default_severity_matches_its_weight(check_id: str, severity: str) -> None:
    assert REGISTRY[check_id].severity == severity


def test_no_unit_test_is_a_coverage_figure_of_the_gate_path_not_a_finding_per_alert() -> None:
    registered = REGISTRY["rule-alert-untested"]
    assert (registered.group, registered.target) == ("coverage", "rules gate path")
    rule_opinions = [c for c in checks_for("rules", groups=["core"]) if c.opinion]
    assert rule_opinions and all(c.severity != "critical" for c in rule_opinions)


@pytest.mark.parametrize("area", AREAS)
def test_every_area_labels_its_opinions(area: str) -> None:
    assert any(c.opinion for c in checks_for(area)), f"no {area} check is labelled an opinion"


def test_docs_list_each_areas_opinions_under_its_own_heading() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for area in AREAS:
        section = text.split(f"### {area}: opinions", 1)[1].split("\n## ", 1)[0]
        rows = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
        assert rows == {c.id for c in checks_for(area) if c.opinion}, area
