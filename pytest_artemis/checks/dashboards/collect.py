"""Collection of the dashboard gate: JSON files under ``--artemis-dashboards`` paths become items.

Per dashboard: ``checks`` (schema first; the other core checks when the schema holds; the unknown-series
check only where a series source can know the names) and ``theme`` (the Command Center look; skipped for
dashboards not tagged ``artemis``). Once per gate, on its first dashboard, when some dashboards have no
series source or ``--artemis-prometheus`` is given: ``known-series``, the gate's one info finding on what
was and was not checked. Broken JSON: one failing item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.checks.dashboards.checks import DashboardContext
from pytest_artemis.checks.dashboards.model import Dashboard, load_dashboard
from pytest_artemis.checks.dashboards.theme import THEME_TAG, wants_theme
from pytest_artemis.checks.items import BrokenFileItem, GateItem, GateSkip, config_of
from pytest_artemis.checks.registry import REGISTRY, checks_for
from pytest_artemis.checks.rules.collect import series_sources
from pytest_artemis.checks.rules.inventory import Inventory
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import DashboardError
from pytest_artemis.findings import Finding, at_or_above, display_path

__all__ = ["DashboardGateFile", "collect_file", "dashboard_files", "run_checks"]

MARKER = "dashboards"
_FILES_KEY = pytest.StashKey["list[Path]"]()


def collect_file(file_path: Path, parent: Any, cfg: ArtemisConfig) -> pytest.Collector | None:
    """The dashboard gate's collector for ``file_path``, or None when it is not JSON."""
    if file_path.suffix != ".json":
        return None
    return DashboardGateFile.from_parent(parent, path=file_path)


def dashboard_files(config: pytest.Config) -> list[Path]:
    """Every dashboard under the dashboards gate paths that loads, sorted (read once per session)."""
    files = config.stash.get(_FILES_KEY, None)
    if files is None:
        cfg = config_of(config)
        files = []
        for path in _json_files(cfg.dashboards):
            try:
                load_dashboard(path)
            except DashboardError:
                continue  # reported by the file's own item
            files.append(path)
        config.stash[_FILES_KEY] = files
    return files


def _json_files(roots: tuple[Path, ...]) -> list[Path]:
    found: set[Path] = set()
    for root in roots:
        if root.is_file() and root.suffix == ".json":
            found.add(root.resolve())
        elif root.is_dir():
            found.update(p.resolve() for p in root.rglob("*.json") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(root).parts))
    return sorted(found)


def run_checks(dashboard: Dashboard, cfg: ArtemisConfig, file: str, group: str,
               inventory: Inventory | None = None) -> list[Finding]:
    """Findings of one check group over a dashboard (core: schema first, the rest only if it holds).

    ``inventory`` judges the dashboard's series; None: no source can, the unknown-series check does not run.
    """
    ctx = DashboardContext(file=file, inventory=inventory)
    found: list[Finding] = []
    if group == "core" and "dashboard-schema" not in cfg.ignore_check:
        found = REGISTRY["dashboard-schema"](dashboard, ctx)
        if at_or_above(found, "critical"):
            return found
    for registered in checks_for("dashboards", exclude=cfg.ignore_check | {"dashboard-schema"}, groups=[group]):
        found.extend(registered(dashboard, ctx))
    return found


class DashboardGateFile(pytest.File):
    """A dashboard JSON file."""

    def collect(self) -> Iterator[pytest.Item]:
        cfg = config_of(self)
        file = display_path(self.path, cfg.rootdir)
        try:
            dashboard = load_dashboard(self.path)
        except DashboardError as err:
            yield BrokenFileItem.from_parent(self, name="json", error=err, check_id="dashboard-json-invalid",
                                             file=file, marker=MARKER)
            return
        yield GateItem.from_parent(self, name="checks", marker=MARKER, run=lambda: run_checks(
            dashboard, cfg, file, "core", series_sources(self.config).for_file(self.path)))

        def theme() -> list[Finding]:
            if not wants_theme(dashboard):
                raise GateSkip(f"theme checks apply to dashboards tagged {THEME_TAG!r}")
            return run_checks(dashboard, cfg, file, "theme")

        yield GateItem.from_parent(self, name="theme", marker=MARKER, run=theme)
        files = dashboard_files(self.config)
        sources = series_sources(self.config)
        if (files and files[0] == self.path.resolve() and "dashboard-query-unknown-series" not in cfg.ignore_check
                and sources.needs_notice(files)):
            yield GateItem.from_parent(self, name="known-series", marker=MARKER, run=lambda: sources.notice(
                "dashboard-query-unknown-series", files, "dashboard", "dashboards gate"))
