"""Collection of gate files (manifests, rules, dashboards) as test items with no test code.

Each gate area provides ``pytest_artemis.checks.<area>.collect`` with
``collect_file(file_path, parent, cfg) -> pytest.Collector | None``; this module decides which gate
claims a file (the file lies under one of that gate's configured paths) and which gate paths join the
session's collection arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.config import ArtemisConfig

__all__ = ["GATE_AREAS", "collect_file", "extra_args", "gate_paths", "gate_root"]

#: Gate area -> the config field listing its paths.
GATE_AREAS: dict[str, str] = {"manifests": "manifests", "rules": "rules", "dashboards": "dashboards"}


def gate_paths(cfg: ArtemisConfig, area: str) -> tuple[Path, ...]:
    return tuple(getattr(cfg, GATE_AREAS[area]))


def extra_args(cfg: ArtemisConfig, args: Sequence[str], explicit_args: bool) -> list[str]:
    """Gate paths to add to the collection arguments.

    Paths given on the command line always join; paths from ini, environment or defaults join only
    when the user named no test paths (``pytest -m manifests`` gates the kit, ``pytest tests/`` does not).
    """
    present = {str(Path(a.split("::")[0]).resolve()) for a in args}
    extra: list[str] = []
    for area, field in GATE_AREAS.items():
        if explicit_args and field not in cfg.from_cli:
            continue
        for path in gate_paths(cfg, area):
            resolved = str(path.resolve())
            if resolved in present or not path.exists():
                continue
            if any(resolved.startswith(p.rstrip("/") + "/") for p in present):
                continue
            present.add(resolved)
            extra.append(resolved)
    return extra


def gate_root(file_path: Path, roots: Sequence[Path]) -> Path | None:
    """The configured gate path that contains ``file_path`` (or is it), None when none does."""
    resolved = file_path.resolve()
    for root in roots:
        root_resolved = root.resolve()
        if resolved == root_resolved or root_resolved in resolved.parents:
            return root
    return None


def collect_file(file_path: Path, parent: Any, cfg: ArtemisConfig) -> pytest.Collector | None:
    """The gate collector for a file, or None when no gate claims it."""
    for area in GATE_AREAS:
        roots = gate_paths(cfg, area)
        if not roots or gate_root(file_path, roots) is None:
            continue
        try:
            module = importlib.import_module(f"pytest_artemis.checks.{area}.collect")
        except ModuleNotFoundError as err:
            if err.name and err.name.startswith(f"pytest_artemis.checks.{area}"):
                continue
            raise
        collector = module.collect_file(file_path, parent, cfg)
        if collector is not None:
            return collector
    return None
