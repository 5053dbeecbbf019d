"""The Grafana dashboard gate: dashboard JSON files as release gates.

Modules: ``model`` (loading, flattening rows and collapsed rows, datasource types),
``dashboard.schema.json`` (the JSON Schema of the fields the gate relies on), ``checks`` (core
checks), ``theme`` (Command Center look, group ``theme``), ``collect`` (the ``collect_file`` entry
point of :mod:`pytest_artemis.collect`).
"""

from __future__ import annotations

from pytest_artemis.checks.dashboards import checks, live, theme

__all__ = ["checks", "live", "theme"]
