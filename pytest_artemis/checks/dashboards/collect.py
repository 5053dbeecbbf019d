"""Collection of the dashboard gate: JSON files under ``--artemis-dashboards`` paths become items.

Per dashboard: ``checks`` (schema first; the other core checks when the schema holds) and ``theme``
(the Command Center look; skipped for dashboards not tagged ``artemis``). Broken JSON: one failing item.
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
from pytest_artemis.checks.rules.inventory import inventory_for
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import DashboardError
from pytest_artemis.findings import Finding, at_or_above, display_path

__all__ = ["DashboardGateFile", "collect_file", "run_checks"]

MARKER = "dashboards"


def collect_file(file_path: Path, parent: Any, cfg: ArtemisConfig) -> pytest.Collector | None:
    """The dashboard gate's collector for ``file_path``, or None when it is not JSON."""
    if file_path.suffix != ".json":
        return None
    return DashboardGateFile.from_parent(parent, path=file_path)


def run_checks(dashboard: Dashboard, cfg: ArtemisConfig, file: str, group: str) -> list[Finding]:
    """Findings of one check group over a dashboard (core: schema first, the rest only if it holds)."""
    ctx = DashboardContext(file=file, inventory=inventory_for(cfg))
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
        yield GateItem.from_parent(self, name="checks", marker=MARKER,
                                   run=lambda: run_checks(dashboard, cfg, file, "core"))

        def theme() -> list[Finding]:
            if not wants_theme(dashboard):
                raise GateSkip(f"theme checks apply to dashboards tagged {THEME_TAG!r}")
            return run_checks(dashboard, cfg, file, "theme")

        yield GateItem.from_parent(self, name="theme", marker=MARKER, run=theme)
