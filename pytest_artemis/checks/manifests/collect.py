"""pytest collection of manifests: one item per Kubernetes object, with no test code.

``collect_file`` (the protocol of :mod:`pytest_artemis.collect`) claims a kustomization file (its
directory is rendered once; the files inside are gated through the render, not twice) or a plain
YAML file holding Kubernetes objects; other YAML (rule files, values files) is left to other gates.
A file holding no Kubernetes object that was named (a gate path itself, or a collection argument) is
one failing item (``manifest-no-objects``), and so is an empty file under a gate directory that holds
no object at all; an empty file next to others that hold objects is one skipped item (pytest's and
MISSION STATUS's skip counts show it, ``-rs`` names it).
Each item computes its findings (schema + registered checks, minus ignored ids), attaches all of them
to the session record, and fails once when any is at or above ``--artemis-fail-on``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_artemis import collect as gate_collect
from pytest_artemis.checks.items import GateItem, GateSkip, config_of
from pytest_artemis.checks.manifests import loader
from pytest_artemis.checks.manifests.context import ManifestIndex
from pytest_artemis.checks.manifests.engine import (
    evaluate,
    holds_objects,
    index_paths,
    is_kustomization,
    load_source,
    manifest_no_objects,
    manifest_unreadable,
)
from pytest_artemis.checks.manifests.model import ManifestObject
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.findings import Finding, display_path

__all__ = ["ManifestFile", "ManifestItem", "NoObjects", "collect_file", "session_index"]

MARKER = "manifests"
UNREADABLE = "unreadable"
NO_OBJECTS = "no-objects"
_INDEX_KEY = pytest.StashKey[ManifestIndex]()
_INDEX_COMPLETE = pytest.StashKey[bool]()
_NAMED_KEY = pytest.StashKey[frozenset[Path]]()
_ROOTS_WITH_OBJECTS = pytest.StashKey[dict[Path, bool]]()


@dataclass(frozen=True)
class NoObjects:
    """Why a file holding no Kubernetes object is an item: it was named (``under`` empty), or is empty and lies
    under the gate directory ``under``; ``skip`` when other files there hold objects (else it fails)."""

    under: str = ""
    skip: bool = False


def session_index(config: pytest.Config, cfg: ArtemisConfig) -> ManifestIndex:
    """The session's cross-object index (created on first use, one per pytest config)."""
    if _INDEX_KEY not in config.stash:
        config.stash[_INDEX_KEY] = ManifestIndex(cfg.k8s_version)
    return config.stash[_INDEX_KEY]


def _complete_index(config: pytest.Config, cfg: ArtemisConfig) -> ManifestIndex:
    """The index with every source under the gate paths (not only the collected ones), built once."""
    index = session_index(config, cfg)
    if not config.stash.get(_INDEX_COMPLETE, False):
        index_paths(index, cfg.manifests, cfg.rootdir)
        config.stash[_INDEX_COMPLETE] = True
    return index


def collect_file(file_path: Path, parent: Any, cfg: ArtemisConfig) -> pytest.Collector | None:
    """The manifest collector for ``file_path``, or None when it is not the manifest gate's."""
    if not (file_path.suffix in loader.MANIFEST_SUFFIXES or is_kustomization(file_path)):
        return None
    root = gate_collect.gate_root(file_path, cfg.manifests)
    if root is None:
        return None
    if is_kustomization(file_path):
        return ManifestFile.from_parent(parent, path=file_path)
    if root.resolve() != file_path.resolve() and loader.enclosing_kustomization(file_path, root) is not None:
        return None  # gated through its directory's render
    display = display_path(file_path, cfg.rootdir)
    try:
        documents = loader.read_documents(file_path, display)
    except loader.ManifestLoadError as err:
        others = gate_collect.gate_paths(cfg, "rules") + gate_collect.gate_paths(cfg, "dashboards")
        if gate_collect.gate_root(file_path, others) is not None:
            return None  # a broken rule or dashboard file: its own gate reports it
        collector = ManifestFile.from_parent(parent, path=file_path)
        collector.error = err
        return collector
    if not any(loader.looks_like_manifest(d.data) for d in loader.expand_lists(documents)):
        return _without_objects(file_path, parent, cfg, root, documents)
    collector = ManifestFile.from_parent(parent, path=file_path)
    collector.documents = documents
    return collector


def _without_objects(file_path: Path, parent: Any, cfg: ArtemisConfig, root: Path,
                     documents: list[loader.Document]) -> pytest.Collector | None:
    """The collector of a YAML file with no complete Kubernetes object, or None when the gate leaves it alone.

    Named, it is gated: its documents with only one of apiVersion and kind (the schema check names the other),
    else one failing item. Under a gate directory, only an empty file (no document, or only ``---`` and comments)
    is an item; other YAML (rule files, Helm values) stays left to the other gates.
    """
    others = gate_collect.gate_paths(cfg, "rules") + gate_collect.gate_paths(cfg, "dashboards")
    if gate_collect.gate_root(file_path, others) is not None:
        return None  # a rule or dashboard file: its own gate decides
    named = root.resolve() == file_path.resolve() or file_path.resolve() in _named_paths(parent.config)
    if not named and documents:
        return None
    collector = ManifestFile.from_parent(parent, path=file_path)
    if named and holds_objects(documents):
        collector.documents = documents
    elif named:
        collector.no_objects = NoObjects()
    else:
        under = display_path(root, cfg.rootdir)
        collector.no_objects = NoObjects(under, skip=_holds_objects_under(parent.config, root))
    return collector


def _named_paths(config: pytest.Config) -> frozenset[Path]:
    """The files and directories named as collection arguments (the gate paths joined them), resolved once."""
    if _NAMED_KEY not in config.stash:
        base = config.invocation_params.dir
        config.stash[_NAMED_KEY] = frozenset((base / str(arg).split("::")[0]).resolve() for arg in config.args)
    return config.stash[_NAMED_KEY]


def _holds_objects_under(config: pytest.Config, root: Path) -> bool:
    """Whether any source under a gate directory holds an object (a kustomization counts; so does broken YAML)."""
    known = config.stash.setdefault(_ROOTS_WITH_OBJECTS, {})
    key = root.resolve()
    if key not in known:
        known[key] = any(is_kustomization(source) or _file_holds_objects(source)
                         for source in loader.sources_under(root))
    return known[key]


def _file_holds_objects(path: Path) -> bool:
    try:
        documents = loader.read_documents(path, str(path))
    except loader.ManifestLoadError:
        return True  # not known: its own item fails, and this file is not blamed for the directory
    return any(loader.looks_like_manifest(d.data) for d in loader.expand_lists(documents))


class ManifestFile(pytest.File):
    """A plain manifest file or a kustomization (rendered): one item per object."""

    documents: list[loader.Document] | None = None
    error: loader.ManifestLoadError | None = None
    no_objects: NoObjects | None = None

    def collect(self) -> Iterator[ManifestItem]:
        cfg = config_of(self)
        index = session_index(self.config, cfg)
        key = display_path(self.path, cfg.rootdir)
        if self.no_objects is not None:
            index.add(key, [])
            item = ManifestItem.from_parent(self, name=NO_OBJECTS, no_objects=self.no_objects)
            if self.no_objects.skip:  # a mark, so the skip is reported at the file, not in the item's code
                item.add_marker(pytest.mark.skip(reason=item.skip_reason()))
            yield item
            return
        try:
            if self.error is not None:
                raise self.error
            objects = load_source(self.path, cfg.rootdir, self.documents)
        except loader.ManifestLoadError as err:
            index.add(key, [])
            yield ManifestItem.from_parent(self, name=UNREADABLE, error=err)
            return
        index.add(key, objects)
        seen: dict[str, int] = {}
        for obj in objects:
            name = obj.ref if obj.name else f"{obj.kind or 'object'}@line{obj.line}"
            if name in seen:
                name = f"{name}[{obj.namespace}]" if f"{name}[{obj.namespace}]" not in seen else f"{name}#{seen[name]}"
            seen[name] = seen.get(name, 0) + 1
            yield ManifestItem.from_parent(self, name=name, obj=obj)


class ManifestItem(GateItem):
    """One Kubernetes object (or one unreadable file, or one file holding no object) of the manifest gate."""

    def __init__(self, *, obj: ManifestObject | None = None, error: loader.ManifestLoadError | None = None,
                 no_objects: NoObjects | None = None, **kwargs: Any) -> None:
        super().__init__(marker=MARKER, **kwargs)
        self.obj = obj
        self.error = error
        self.no_objects = no_objects

    def check(self) -> list[Finding]:
        if self.error is not None:
            return list(manifest_unreadable(self.error))
        if self.no_objects is not None:
            if self.no_objects.skip:
                raise GateSkip(self.skip_reason())  # only reached with the skipping plugin off (-p no:skipping)
            under = self.no_objects.under
            return list(manifest_no_objects(display_path(self.path, config_of(self).rootdir),
                                            f" (nor does anything else under {under})" if under else ""))
        assert self.obj is not None
        cfg = config_of(self)
        index = _complete_index(self.config, cfg)
        return evaluate(self.obj, index.context(self.obj.scope), ignore=cfg.ignore_check)

    def evidence(self) -> dict[str, str]:
        """The failing object as rendered (what the checks saw), for the report."""
        if self.obj is None:
            return {}
        return {"rendered-manifest.yaml": yaml.safe_dump(self.obj.doc, sort_keys=False)}

    def skip_reason(self) -> str:
        under = self.no_objects.under if self.no_objects else ""
        return (f"{display_path(self.path, config_of(self).rootdir)} holds no Kubernetes objects "
                f"(skipped: other files under {under} do)")

    def header(self) -> str:
        if self.no_objects is not None:
            return display_path(self.path, config_of(self).rootdir)
        if self.obj is None:
            return str(self.error)
        rendered = f" (rendered from {self.obj.source})" if self.obj.source != self.obj.file else ""
        return f"{self.obj.file} {self.obj.namespace}/{self.obj.ref}{rendered}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        if self.obj is not None:
            cfg = config_of(self)
            origin = cfg.rootdir / self.obj.file
            return (origin if origin.exists() else self.path), (self.obj.line - 1 if self.obj.line else None), \
                f"{self.obj.namespace}/{self.obj.ref}"
        if self.no_objects is not None:
            return self.path, 0, NO_OBJECTS  # a line: pytest reports a skip mark at the item's location
        return self.path, (self.error.line - 1 if self.error and self.error.line else None), UNREADABLE
