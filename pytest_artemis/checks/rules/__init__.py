"""The Prometheus rule gate: rule files, promtool unit tests and Prometheus configs as release gates.

Modules: ``model`` (reading files), ``promql`` (parsing, series names), ``inventory`` (known metric
names), ``checks`` (Python-side checks, group ``core``), ``promtool`` (promtool runs and alert
coverage, groups ``promtool`` and ``coverage``) and ``collect`` (the gate items and the
``collect_file`` entry point of :mod:`pytest_artemis.collect`).
"""

from __future__ import annotations

from pytest_artemis.checks.rules import checks, promtool

__all__ = ["checks", "promtool"]
