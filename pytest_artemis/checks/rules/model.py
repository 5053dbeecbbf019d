"""Reading Prometheus rule files, promtool unit-test files and Prometheus configs into small typed objects.

A YAML file under a rules gate path is one of: a rule file (top-level ``groups``), a promtool unit-test
file (``rule_files`` and ``tests``), a Prometheus config (``scrape_configs``, ``global``, ``rule_files``
or ``alerting``), or something else (a kustomization, an inventory) that the gate leaves alone.
Unreadable or malformed files raise :class:`~pytest_artemis.errors.RuleError` naming file and line.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from pytest_artemis.errors import RuleError

__all__ = [
    "FileKind",
    "PrometheusRuleGroups",
    "Rule",
    "RuleFile",
    "UnitTestFile",
    "classify",
    "find_files",
    "is_prometheus_rule",
    "load_yaml",
    "parse_rule_file",
    "parse_unit_test_file",
]

FileKind = Literal["rules", "unittest", "config", "other"]
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule."""

    kind: Literal["record", "alert"]
    name: str
    expr: str
    group: str
    index: int
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    for_: str | None = None

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class RuleFile:
    """A parsed rule file: its rules plus the structural problems found while reading it."""

    path: Path
    rules: tuple[Rule, ...]
    groups: tuple[str, ...]
    problems: tuple[tuple[str, str], ...] = ()  # (object, message)

    @property
    def alerts(self) -> list[Rule]:
        return [r for r in self.rules if r.kind == "alert"]

    @property
    def records(self) -> list[Rule]:
        return [r for r in self.rules if r.kind == "record"]


@dataclass(frozen=True)
class UnitTestFile:
    """A promtool unit-test file: its rule files (resolved) and its test groups."""

    path: Path
    document: Mapping[str, Any]
    rule_files: tuple[Path, ...]
    groups: tuple[Mapping[str, Any], ...]

    def group_name(self, index: int) -> str:
        name = self.groups[index].get("name") if isinstance(self.groups[index], Mapping) else None
        return str(name) if name else f"group-{index + 1}"

    def tested_alerts(self) -> set[str]:
        names: set[str] = set()
        for group in self.groups:
            for test in (group.get("alert_rule_test") or []) if isinstance(group, Mapping) else []:
                if isinstance(test, Mapping) and test.get("alertname"):
                    names.add(str(test["alertname"]))
        return names


def load_yaml(path: Path) -> Any:
    """The YAML document of ``path``; RuleError naming the line when it is not valid YAML.

    PrometheusRule objects (one or several, also among other manifests) become one
    :class:`PrometheusRuleGroups` document; several documents of anything else give None.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleError(f"{path}: cannot be read ({err})") from err
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise RuleError(f"{path}{where}: not valid YAML ({problem})") from err
    crds = [d for d in docs if is_prometheus_rule(d)]
    if crds:
        return PrometheusRuleGroups(
            groups=[g for d in crds for g in ((d.get("spec") or {}).get("groups") or [])
                    if isinstance(d.get("spec"), Mapping)])
    if len(docs) > 1:
        if any(isinstance(d, Mapping) and "groups" in d for d in docs):
            raise RuleError(f"{path}: holds {len(docs)} YAML documents; a Prometheus rule file is exactly one")
        return None  # several documents of something else (e.g. Kubernetes manifests): not a rules-gate file
    return docs[0] if docs else None


class PrometheusRuleGroups(dict):  # type: ignore[type-arg]
    """The rule groups of the PrometheusRule objects (prometheus-operator) of one file, as a rule file."""


def is_prometheus_rule(document: Any) -> bool:
    """A prometheus-operator PrometheusRule object."""
    return (isinstance(document, Mapping) and document.get("kind") == "PrometheusRule"
            and str(document.get("apiVersion", "")).startswith("monitoring.coreos.com/"))


def classify(document: Any) -> FileKind:
    """What a rules-gate YAML document is."""
    if not isinstance(document, Mapping):
        return "other"
    if "groups" in document:
        return "rules"
    if "tests" in document and "rule_files" in document:
        return "unittest"
    if {"scrape_configs", "global", "alerting"} & set(document) or (
        "rule_files" in document and "tests" not in document
    ):
        return "config"
    return "other"


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def parse_rule_file(path: Path, document: Any) -> RuleFile:
    """Rules of a rule file; structural problems are collected, never raised."""
    problems: list[tuple[str, str]] = []
    rules: list[Rule] = []
    groups: list[str] = []
    raw_groups = document.get("groups") if isinstance(document, Mapping) else None
    if not isinstance(raw_groups, list):
        return RuleFile(path, (), (), (("groups", "top-level 'groups' must be a list of rule groups"),))
    for g_index, group in enumerate(raw_groups):
        if not isinstance(group, Mapping) or not group.get("name"):
            problems.append((f"group #{g_index + 1}", "a rule group needs a 'name' and a 'rules' list"))
            continue
        gname = str(group["name"])
        groups.append(gname)
        raw_rules = group.get("rules") or []
        if not isinstance(raw_rules, list):
            problems.append((gname, "'rules' must be a list"))
            continue
        for index, raw in enumerate(raw_rules):
            where = f"{gname} rule #{index + 1}"
            if not isinstance(raw, Mapping):
                problems.append((where, "a rule must be a mapping with 'record' or 'alert' and 'expr'"))
                continue
            kind: Literal["record", "alert"] | None = (
                "record" if "record" in raw else "alert" if "alert" in raw else None
            )
            if kind is None or not raw.get(kind):
                problems.append((where, "a rule needs a 'record' or an 'alert' name"))
                continue
            if not isinstance(raw.get("expr"), (str, int, float)) or str(raw.get("expr")).strip() == "":
                problems.append((f"{gname}/{raw[kind]}", "a rule needs an 'expr'"))
                continue
            rules.append(
                Rule(
                    kind=kind,
                    name=str(raw[kind]),
                    expr=str(raw["expr"]),
                    group=gname,
                    index=index,
                    labels=_str_map(raw.get("labels")),
                    annotations=_str_map(raw.get("annotations")),
                    for_=str(raw["for"]) if raw.get("for") not in (None, "") else None,
                )
            )
    return RuleFile(path, tuple(rules), tuple(groups), tuple(problems))


def _resolve_globs(base: Path, patterns: Iterable[Any]) -> tuple[Path, ...]:
    paths: list[Path] = []
    for pattern in patterns:
        full = base / str(pattern)
        matches = sorted(glob.glob(str(full)))
        paths.extend(Path(m) for m in matches) if matches else paths.append(full)
    return tuple(paths)


def parse_unit_test_file(path: Path, document: Any) -> UnitTestFile:
    """A promtool test file; rule_files are resolved relative to the test file, globs expanded."""
    if not isinstance(document, Mapping):
        raise RuleError(f"{path}: a promtool test file is a mapping with 'rule_files' and 'tests'")
    rule_files = document.get("rule_files") or []
    tests = document.get("tests") or []
    if not isinstance(rule_files, list) or not isinstance(tests, list):
        raise RuleError(f"{path}: 'rule_files' and 'tests' must be lists")
    return UnitTestFile(path, document, _resolve_globs(path.parent, rule_files), tuple(tests))


def find_files(roots: Iterable[Path]) -> list[Path]:
    """Every YAML file under the given files or directories, sorted, hidden directories skipped."""
    found: set[Path] = set()
    for root in roots:
        if root.is_file() and root.suffix in YAML_SUFFIXES:
            found.add(root.resolve())
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.suffix in YAML_SUFFIXES and path.is_file() and not any(
                    part.startswith(".") for part in path.relative_to(root).parts
                ):
                    found.add(path.resolve())
    return sorted(found)
