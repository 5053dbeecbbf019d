"""The metric inventory: series names the rule and dashboard gates accept as known, and where they come from.

A name is known when a source that can know it lists it. The sources (see
:mod:`pytest_artemis.checks.rules.series` for which one judges which file):

* an inventory the user gives: the file of ``--artemis-metric-inventory`` and every ``inventory.txt``
  under a rules gate path (except the kit's own, below);
* the names of a live Prometheus (``--artemis-prometheus``), fetched by :mod:`~pytest_artemis.checks.rules.series`;
* the kit's inventory, for the kit's own files only (under the project's default gate paths
  ``manifests/monitoring`` and ``dashboards`` of a project that ships ``manifests/monitoring/inventory.txt``):
  the reference service's names (``services/target/metrics.py`` INVENTORY) plus that file.

Whatever the source, the recording rules of every rule file under the rules gate paths and the series
Prometheus writes itself (``up``, ``scrape_*``, ``ALERTS``) are known too. An inventory file is either a
list (one name a line, ``#`` comments) or a saved ``/metrics`` page in the Prometheus text format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pytest_artemis.checks.rules.model import classify, find_files, load_yaml, parse_rule_file
from pytest_artemis.config import OPTIONS, ArtemisConfig
from pytest_artemis.errors import RuleError
from pytest_artemis.findings import display_path
from pytest_artemis.services.target.metrics import INVENTORY

__all__ = [
    "INVENTORY_FILE_NAME",
    "KIT_INVENTORY",
    "SYNTHETIC_SERIES",
    "Inventory",
    "build_inventory",
    "given_inventory",
    "inventory_for",
    "is_kit_file",
    "kit_inventory",
    "kit_paths",
    "parse_inventory_text",
    "recorded_names",
]

INVENTORY_FILE_NAME = "inventory.txt"
#: The kit's inventory file, relative to the rootdir; a project that has it is the kit.
KIT_INVENTORY = Path("manifests/monitoring") / INVENTORY_FILE_NAME
#: Series Prometheus writes itself, whatever it scrapes: known to every source.
SYNTHETIC_SERIES: frozenset[str] = frozenset({
    "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
    "scrape_series_added", "scrape_timeout_seconds", "scrape_sample_limit", "scrape_body_size_bytes",
    "ALERTS", "ALERTS_FOR_STATE",
})
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*")
_TYPE = re.compile(r"^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)")


@dataclass(frozen=True)
class Inventory:
    """Known metric names and recording-rule names, with where the names came from."""

    metrics: frozenset[str]
    records: frozenset[str]
    sources: tuple[str, ...]

    def knows(self, name: str) -> bool:
        return name in self.metrics or name in self.records or name in SYNTHETIC_SERIES

    def with_records(self, records: Iterable[str]) -> Inventory:
        return Inventory(self.metrics, self.records | frozenset(records), self.sources)

    def merged(self, other: Inventory) -> Inventory:
        return Inventory(self.metrics | other.metrics, self.records | other.records,
                         self.sources + tuple(s for s in other.sources if s not in self.sources))

    @property
    def described(self) -> str:
        """Where the names come from, for a finding's message ("the metric inventory metrics.txt")."""
        return " or ".join(self.sources) if self.sources else "the metric inventory"


def parse_inventory_text(text: str) -> set[str]:
    """Names in a list file or a Prometheus text-format page (histograms and summaries expanded)."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        typed = _TYPE.match(line)
        if typed:
            name, kind = typed.groups()
            names.add(name)
            if kind == "histogram":
                names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
            elif kind == "summary":
                names.update({f"{name}_sum", f"{name}_count"})
            elif kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
            continue
        if line.startswith("#"):
            continue
        match = _NAME.match(line)
        if match:
            names.add(match.group(0))
    return names


def _read_inventory(path: Path) -> set[str]:
    try:
        return parse_inventory_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise RuleError(f"metric inventory {path}: cannot be read ({err})") from err


def _inventory_files(roots: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files.extend(sorted(p for p in root.rglob(INVENTORY_FILE_NAME) if p.is_file()))
        elif root.name == INVENTORY_FILE_NAME and root.is_file():
            files.append(root)
    return files


def recorded_names(roots: Iterable[Path]) -> frozenset[str]:
    """Names of the recording rules of every rule file under ``roots``."""
    records: set[str] = set()
    for path in find_files(roots):
        try:
            document = load_yaml(path)
        except RuleError:
            continue  # the broken file is reported by its own item
        if classify(document) == "rules":
            records.update(r.name for r in parse_rule_file(path, document).records)
    return frozenset(records)


@lru_cache(maxsize=8)
def build_inventory(roots: tuple[Path, ...], extra: Path | None = None) -> Inventory:
    """Every name of every source but a live server: the reference service's, ``extra``, the ``inventory.txt``
    files and the recording rules under ``roots`` (cached; what the kit's own checks and suites use)."""
    metrics = set(INVENTORY)
    sources = ["reference service metrics"]
    files = ([extra] if extra is not None else []) + _inventory_files(roots)
    for path in files:
        metrics |= _read_inventory(path)
        sources.append(str(path))
    return Inventory(frozenset(metrics), recorded_names(roots), tuple(sources))


def inventory_for(cfg: ArtemisConfig) -> Inventory:
    """Every static name of a session (reference service, inventory files, recording rules), cached."""
    return build_inventory(tuple(p.resolve() for p in cfg.rules), cfg.metric_inventory)


def _default(option: str) -> tuple[Path, ...]:
    spec = next(s for s in OPTIONS if s.name == option)
    return tuple(Path(d) for d in spec.default)


def kit_paths(cfg: ArtemisConfig) -> tuple[Path, ...]:
    """The kit's own gate paths (the default rules and dashboards paths under the rootdir), resolved.

    Empty unless the rootdir holds the kit's inventory (``manifests/monitoring/inventory.txt``): another
    project's ``dashboards/`` is not the kit.
    """
    if not (cfg.rootdir / KIT_INVENTORY).is_file():
        return ()
    return tuple((cfg.rootdir / p).resolve() for p in (*_default("rules"), *_default("dashboards")))


def is_kit_file(cfg: ArtemisConfig, path: Path) -> bool:
    """True for a file under the kit's own gate paths."""
    resolved = path.resolve()
    return any(resolved == root or root in resolved.parents for root in kit_paths(cfg))


def kit_inventory(cfg: ArtemisConfig) -> Inventory:
    """The kit's inventory: the reference service's names and ``manifests/monitoring/inventory.txt``."""
    path = cfg.rootdir / KIT_INVENTORY
    return Inventory(frozenset(INVENTORY) | _names(path.resolve()), frozenset(),
                     (f"the kit's inventory (reference service metrics, {KIT_INVENTORY.as_posix()})",))


def _names(path: Path) -> frozenset[str]:
    """The names of an inventory file, read once per version of the file."""
    try:
        stat = path.stat()
    except OSError as err:
        raise RuleError(f"metric inventory {path}: cannot be read ({err.strerror})") from err
    return _names_of(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _names_of(path: Path, mtime_ns: int, size: int) -> frozenset[str]:
    return frozenset(_read_inventory(path))


def given_inventory(cfg: ArtemisConfig) -> Inventory | None:
    """The inventory the user gives (``--artemis-metric-inventory``, ``inventory.txt`` under a rules gate path
    other than the kit's own), None when there is none."""
    kit = (cfg.rootdir / KIT_INVENTORY).resolve()
    files = ([cfg.metric_inventory] if cfg.metric_inventory is not None else []) + [
        p for p in _inventory_files(cfg.rules) if p.resolve() != kit]
    if not files:
        return None
    names: frozenset[str] = frozenset()
    sources = []
    for path in dict.fromkeys(p.resolve() for p in files):
        names |= _names(path)
        sources.append(f"the metric inventory {display_path(path, cfg.rootdir)}")
    return Inventory(names, frozenset(), tuple(sources))
