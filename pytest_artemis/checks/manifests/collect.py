"""pytest collection of manifests: one item per Kubernetes object, with no test code.

``collect_file`` (the protocol of :mod:`pytest_artemis.collect`) claims a kustomization file (its
directory is rendered once; the files inside are gated through the render, not twice) or a plain
YAML file holding Kubernetes objects; other YAML (rule files, values files) is left to other gates.
Each item computes its findings (schema + registered checks, minus ignored ids), attaches all of them
to the session record, and fails once when any is at or above ``--artemis-fail-on``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis import collect as gate_collect
from pytest_artemis.checks.items import GateItem, config_of
from pytest_artemis.checks.manifests import loader
from pytest_artemis.checks.manifests.context import ManifestIndex
from pytest_artemis.checks.manifests.engine import (
    evaluate,
    index_paths,
    is_kustomization,
    load_source,
    manifest_unreadable,
)
from pytest_artemis.checks.manifests.model import ManifestObject
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.findings import Finding, display_path

__all__ = ["ManifestFile", "ManifestItem", "collect_file", "session_index"]

MARKER = "manifests"
UNREADABLE = "unreadable"
_INDEX_KEY = pytest.StashKey[ManifestIndex]()
_INDEX_COMPLETE = pytest.StashKey[bool]()


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
        return None
    collector = ManifestFile.from_parent(parent, path=file_path)
    collector.documents = documents
    return collector


class ManifestFile(pytest.File):
    """A plain manifest file or a kustomization (rendered): one item per object."""

    documents: list[loader.Document] | None = None
    error: loader.ManifestLoadError | None = None

    def collect(self) -> Iterator[ManifestItem]:
        cfg = config_of(self)
        index = session_index(self.config, cfg)
        key = display_path(self.path, cfg.rootdir)
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
    """One Kubernetes object (or one unreadable file) of the manifest gate."""

    def __init__(self, *, obj: ManifestObject | None = None, error: loader.ManifestLoadError | None = None,
                 **kwargs: Any) -> None:
        super().__init__(marker=MARKER, **kwargs)
        self.obj = obj
        self.error = error

    def check(self) -> list[Finding]:
        if self.error is not None:
            return list(manifest_unreadable(self.error))
        assert self.obj is not None
        cfg = config_of(self)
        index = _complete_index(self.config, cfg)
        return evaluate(self.obj, index.context(self.obj.scope), ignore=cfg.ignore_check)

    def header(self) -> str:
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
        return self.path, (self.error.line - 1 if self.error and self.error.line else None), UNREADABLE
