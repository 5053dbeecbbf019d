"""Reading Grafana dashboards into a flat list of panels, whatever their layout.

Handles the current model (top-level ``panels`` with ``row`` panels, collapsed rows holding their
panels), and the old model (``rows`` with ``span``-sized panels). Each :class:`Panel` knows its
section (row title), the overlap scope it lays out in, and its targets with their datasource type:
from the reference itself, a datasource template variable, or the ``__inputs`` of a dashboard exported
for sharing (``${DS_PROMETHEUS}``, ``${DS_LOKI}``). Library panel references (``libraryPanel``, no type of
their own) are panels without targets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from pytest_artemis.checks.rules.promql import looks_like_logql
from pytest_artemis.errors import DashboardError

__all__ = [
    "SPECIAL_DATASOURCES",
    "Dashboard",
    "Panel",
    "Target",
    "datasource_ref",
    "load_dashboard",
    "schema",
    "schema_errors",
]

#: Datasource names/uids that are Grafana built-ins, not a hard-coded server.
SPECIAL_DATASOURCES = frozenset({"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana", "default",
                                 "-- mixed --", "-- dashboard --"})


@dataclass(frozen=True)
class Target:
    """One query of a panel."""

    ref_id: str
    expr: str | None
    datasource_type: str  # "prometheus", "loki", ... or "" when unknown
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Panel:
    """A panel (or row) with where it sits."""

    id: Any
    type: str
    title: str
    section: str
    scope: str  # panels of one scope share a layout: "top", "row:<id>" (collapsed), "rows" (old format)
    grid: Mapping[str, Any] | None
    raw: Mapping[str, Any]
    targets: tuple[Target, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"panel {self.id} {self.title!r}" if self.title else f"panel {self.id} ({self.type})"


@dataclass(frozen=True)
class Dashboard:
    """A loaded dashboard document and its flattened panels."""

    path: Path
    document: Mapping[str, Any]

    @property
    def title(self) -> str:
        return str(self.document.get("title", ""))

    @property
    def variables(self) -> dict[str, Mapping[str, Any]]:
        templating = self.document.get("templating")
        items = (templating.get("list") or []) if isinstance(templating, Mapping) else []
        return {str(v.get("name")): v for v in items if isinstance(v, Mapping)}

    @property
    def inputs(self) -> dict[str, Mapping[str, Any]]:
        """The ``__inputs`` of a dashboard exported for sharing, by name (``DS_PROMETHEUS``)."""
        items = self.document.get("__inputs") or []
        return {str(i.get("name")): i for i in items if isinstance(i, Mapping)} if isinstance(items, list) else {}

    def variable_values(self) -> dict[str, str]:
        """The current value of each template variable that has a single one (custom, constant, interval ...)."""
        values: dict[str, str] = {}
        for name, variable in self.variables.items():
            current = variable.get("current")
            value = current.get("value") if isinstance(current, Mapping) else None
            if value is None and variable.get("type") in ("constant", "textbox"):
                value = variable.get("query")
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                values[name] = str(value)
        return values

    def datasource_type(self, ref: Any) -> str:
        """The datasource type of a panel/target datasource reference ("" when unknown)."""
        kind, uid = datasource_ref(ref)
        if kind:
            return kind
        name = _variable_name(uid)
        if name and name in self.variables:
            variable = self.variables[name]
            if variable.get("type") == "datasource":
                return str(variable.get("query") or "")
        if name and name in self.inputs:
            return str(self.inputs[name].get("pluginId") or "")
        return ""

    def panels(self) -> list[Panel]:
        return list(self._iter_panels())

    def _iter_panels(self) -> Iterator[Panel]:
        doc = self.document
        if isinstance(doc.get("panels"), list):
            section = ""
            for raw in doc["panels"]:
                if not isinstance(raw, Mapping):
                    continue
                if raw.get("type") == "row":
                    section = str(raw.get("title", ""))
                    yield self._panel(raw, section, "top")
                    for nested in raw.get("panels") or []:
                        if isinstance(nested, Mapping):
                            yield self._panel(nested, section, f"row:{raw.get('id')}", parent=raw)
                else:
                    yield self._panel(raw, section, "top")
        for index, row in enumerate(doc.get("rows") or []):
            if isinstance(row, Mapping):
                for raw in row.get("panels") or []:
                    if isinstance(raw, Mapping):
                        yield self._panel(raw, str(row.get("title", "")), f"rows:{index}", parent=row)

    def _panel(self, raw: Mapping[str, Any], section: str, scope: str,
               parent: Mapping[str, Any] | None = None) -> Panel:
        panel_ds = raw.get("datasource")
        targets = []
        for index, target in enumerate(raw.get("targets") or []):
            if not isinstance(target, Mapping):
                continue
            ds = target.get("datasource", panel_ds)
            kind = self.datasource_type(ds) or self.datasource_type(panel_ds)
            expr = target.get("expr")
            targets.append(Target(str(target.get("refId", chr(65 + index % 26))),
                                  expr if isinstance(expr, str) else None, kind, target))
        grid = raw.get("gridPos") if isinstance(raw.get("gridPos"), Mapping) else None
        return Panel(raw.get("id"), str(raw.get("type", "")), str(raw.get("title", "")), section, scope, grid, raw,
                     tuple(targets))

    def prometheus_queries(self) -> list[tuple[Panel, Target]]:
        """(panel, target) of every PromQL query Grafana runs: a visible target with an expr on a Prometheus
        datasource, or on one of unknown type unless the expr is a log query (LogQL line filters, parsers)."""
        return [
            (panel, target)
            for panel in self.panels()
            for target in panel.targets
            if target.expr and target.expr.strip() and not target.raw.get("hide")
            and (target.datasource_type == "prometheus"
                 or (target.datasource_type == "" and not looks_like_logql(target.expr)))
        ]


def _variable_name(value: str) -> str | None:
    value = value.strip()
    if value.startswith("${") and value.endswith("}"):
        return value[2:-1].split(":")[0]
    if value.startswith("$"):
        return value[1:]
    if value.startswith("[[") and value.endswith("]]"):
        return value[2:-2]
    return None


def datasource_ref(ref: Any) -> tuple[str, str]:
    """(type, uid-or-name) of a datasource reference; ("", "") when absent."""
    if isinstance(ref, Mapping):
        return str(ref.get("type") or ""), str(ref.get("uid") or "")
    if isinstance(ref, str):
        return "", ref
    return "", ""


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = (resources.files("pytest_artemis.checks.dashboards") / "dashboard.schema.json").read_text("utf-8")
    return json.loads(text)


def load_dashboard(path: Path) -> Dashboard:
    """Read a dashboard JSON file; DashboardError naming line and column when it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DashboardError(f"{path}: cannot be read ({err})") from err
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise DashboardError(f"{path} line {err.lineno} column {err.colno}: not valid JSON ({err.msg})") from err
    if isinstance(document, Mapping) and isinstance(document.get("dashboard"), Mapping):
        document = document["dashboard"]  # the API's export wrapper {"dashboard": {...}, "meta": {...}}
    if not isinstance(document, Mapping):
        raise DashboardError(f"{path}: a dashboard is a JSON object, got {type(document).__name__}")
    return Dashboard(path, document)


def schema_errors(document: Any) -> list[str]:
    """JSON Schema violations as 'path: message' lines."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors]

