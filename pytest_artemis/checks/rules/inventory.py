"""The metric inventory: every series name the rule and dashboard gates accept as known.

Sources, all merged: the reference service's names (``services/target/metrics.py`` INVENTORY), the
file given with ``--artemis-metric-inventory``, every ``inventory.txt`` under a rules gate path (the
kit ships ``manifests/monitoring/inventory.txt`` for kube-state-metrics), and the recording rules of
every rule file under the rules gate paths. An inventory file is either a list (one name a line,
``#`` comments) or a saved ``/metrics`` page in the Prometheus text format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pytest_artemis.checks.rules.model import classify, find_files, load_yaml, parse_rule_file
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import RuleError
from pytest_artemis.services.target.metrics import INVENTORY

__all__ = ["INVENTORY_FILE_NAME", "Inventory", "build_inventory", "inventory_for", "parse_inventory_text"]

INVENTORY_FILE_NAME = "inventory.txt"
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*")
_TYPE = re.compile(r"^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)")


@dataclass(frozen=True)
class Inventory:
    """Known metric names and recording-rule names, with where the names came from."""

    metrics: frozenset[str]
    records: frozenset[str]
    sources: tuple[str, ...]

    def knows(self, name: str) -> bool:
        return name in self.metrics or name in self.records

    def with_records(self, records: Iterable[str]) -> Inventory:
        return Inventory(self.metrics, self.records | frozenset(records), self.sources)


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


@lru_cache(maxsize=8)
def build_inventory(roots: tuple[Path, ...], extra: Path | None = None) -> Inventory:
    """The inventory from the rules gate paths ``roots`` and an optional extra inventory file (cached)."""
    metrics = set(INVENTORY)
    sources = ["reference service metrics"]
    files = [extra] if extra is not None else []
    for root in roots:
        if root.is_dir():
            files.extend(sorted(p for p in root.rglob(INVENTORY_FILE_NAME) if p.is_file()))
        elif root.name == INVENTORY_FILE_NAME and root.is_file():
            files.append(root)
    for path in files:
        metrics |= _read_inventory(path)
        sources.append(str(path))
    records: set[str] = set()
    for path in find_files(roots):
        try:
            document = load_yaml(path)
        except RuleError:
            continue  # the broken file is reported by its own item
        if classify(document) == "rules":
            records.update(r.name for r in parse_rule_file(path, document).records)
    return Inventory(frozenset(metrics), frozenset(records), tuple(sources))


def inventory_for(cfg: ArtemisConfig) -> Inventory:
    """The inventory of a session (cached per gate paths and inventory file)."""
    return build_inventory(tuple(p.resolve() for p in cfg.rules), cfg.metric_inventory)
