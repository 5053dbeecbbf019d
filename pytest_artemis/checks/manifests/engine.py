"""The manifest gate's engine: sources -> :class:`ManifestObject` s -> findings (no pytest imports).

:func:`load_source` reads one source (a plain YAML file or a kustomization's render) into objects;
:func:`evaluate` runs every registered manifest check that targets the object's kind, minus the ids
ignored by annotation (``artemis.io/ignore``) or configuration, and never lets a check's own bug
crash the session. :func:`index_paths` reads every source under the gate paths into the session's
index (the benchmark uses it too).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from pathlib import Path

from pytest_artemis.checks.manifests import loader
from pytest_artemis.checks.manifests.context import PLAIN_SCOPE, CheckContext, ManifestIndex
from pytest_artemis.checks.manifests.model import SERVING_KINDS, WORKLOAD_KINDS, ManifestObject, mapping
from pytest_artemis.checks.registry import REGISTRY, Check, check, checks_for
from pytest_artemis.findings import Finding, display_path

__all__ = [
    "evaluate",
    "holds_objects",
    "index_paths",
    "is_kustomization",
    "load_source",
    "manifest_no_objects",
    "manifest_unreadable",
    "targets",
]

AREA = "manifests"
_TARGET_GROUPS: dict[str, frozenset[str]] = {"workload": WORKLOAD_KINDS, "serving workload": SERVING_KINDS}


def is_kustomization(path: Path) -> bool:
    return path.name in loader.KUSTOMIZATION_FILES


@lru_cache(maxsize=256)
def _origin_lines(path: Path) -> tuple[tuple[str, str, int], ...]:
    """(kind, name, line) of each document of an origin file, to point rendered objects at their line."""
    try:
        documents = loader.read_documents(path, str(path))
    except loader.ManifestLoadError:
        return ()
    out = []
    for document in loader.expand_lists(documents):
        data = document.data
        if isinstance(data, dict):
            metadata = mapping(data.get("metadata"))
            out.append((str(data.get("kind")), str(metadata.get("name")), document.line))
    return tuple(out)


def _line_in_origin(origin: Path, kind: str, name: str) -> int:
    candidates = [(k, n, line) for k, n, line in _origin_lines(origin) if k == kind]
    exact = [line for k, n, line in candidates if n == name or name.endswith(n) or name.startswith(n)]
    if exact:
        return exact[0]
    return candidates[0][2] if len(candidates) == 1 else 0


def load_source(path: Path, rootdir: Path, documents: list[loader.Document] | None = None) -> list[ManifestObject]:
    """Objects of one source: a plain YAML file, or (kustomization file) its directory's render.

    Raises :class:`loader.ManifestLoadError` for broken YAML or a failed render. In a plain file, documents
    with neither apiVersion nor kind are not Kubernetes objects and are skipped (one with only one of
    them is kept: the schema check names what is missing); ``documents`` may pass an already parsed file.
    """
    display = display_path(path, rootdir)
    if is_kustomization(path):
        rendered = loader.render_kustomization(path.parent, display)
        objects = []
        for document in loader.expand_lists(rendered):
            if not isinstance(document.data, dict):
                continue
            file = display_path(document.origin, rootdir) if document.origin else display
            obj = ManifestObject(document.data, file, 0, display, scope=display)
            if document.origin and document.origin.suffix in loader.MANIFEST_SUFFIXES:
                obj.line = _line_in_origin(document.origin, obj.kind, obj.name)
            objects.append(obj)
        return objects
    if documents is None:
        documents = loader.read_documents(path, display)
    return [ManifestObject(d.data, display, d.line, display, scope=PLAIN_SCOPE)
            for d in loader.expand_lists(documents)
            if isinstance(d.data, dict) and ("apiVersion" in d.data or "kind" in d.data)]


@check("manifest-unreadable", area="manifests", target="file", severity="critical",
       fix="fix the YAML at the line shown, or the kustomization so that `kubectl kustomize DIR` succeeds")
def manifest_unreadable(error: loader.ManifestLoadError) -> Iterator[Finding]:
    """File is not valid YAML, or its kustomize directory does not render."""
    problem = error.problem + (f" (line {error.line})" if error.line else "")
    yield Finding(check="manifest-unreadable", severity="critical", message=problem, file=error.file,
                  fix=REGISTRY["manifest-unreadable"].fix)


def holds_objects(documents: Iterable[loader.Document]) -> bool:
    """Whether parsed documents hold a Kubernetes object (what :func:`load_source` keeps from a plain file)."""
    return any(isinstance(d.data, dict) and ("apiVersion" in d.data or "kind" in d.data)
               for d in loader.expand_lists(documents))


@check("manifest-no-objects", area="manifests", target="file", severity="critical",
       fix="name a file or directory that holds Kubernetes objects (apiVersion and kind), or drop the path "
           "from --artemis-manifests")
def manifest_no_objects(file: str, note: str = "") -> Iterator[Finding]:
    """Manifest path holds no Kubernetes objects (empty, or only comments and ---): the gate vouches for nothing."""
    yield Finding(check="manifest-no-objects", severity="critical", message=f"{file} holds no Kubernetes objects{note}",
                  file=file, fix=REGISTRY["manifest-no-objects"].fix)


@cache
def targets(target: str) -> frozenset[str] | None:
    """Kinds a check's ``target`` names (None: every kind)."""
    if target == "any":
        return None
    kinds: set[str] = set()
    for part in target.split(","):
        part = part.strip()
        kinds |= _TARGET_GROUPS.get(part, {part})
    return frozenset(kinds)


def _applies(registered: Check, kind: str) -> bool:
    kinds = targets(registered.target)
    return kinds is None or kind in kinds


def evaluate(obj: ManifestObject, ctx: CheckContext, *, ignore: Iterable[str] = ()) -> list[Finding]:
    """Every finding of the registered manifest checks on ``obj`` (minus ignored ids)."""
    excluded = set(ignore) | obj.ignored
    findings: list[Finding] = []
    for registered in checks_for(AREA, exclude=excluded):
        if registered.online or not _applies(registered, obj.kind):
            continue
        if registered.id != "schema" and not (obj.kind and isinstance(obj.doc.get("metadata"), dict)):
            continue
        try:
            findings.extend(registered(obj, ctx))
        except Exception as err:  # noqa: BLE001 - a check's bug must not crash the gate
            findings.append(obj.finding(registered.id, f"check could not evaluate this object: "
                                                        f"{type(err).__name__}: {err}", severity="warning"))
    return findings


def index_paths(index: ManifestIndex, roots: Iterable[Path], rootdir: Path) -> None:
    """Add every plain file under ``roots`` not yet in ``index`` (unreadable ones are left to their items).

    Kustomize renders are not read here: a render's objects are seen only by that render, so one that
    was not collected has nothing to tell the collected objects.
    """
    for root in roots:
        for source in loader.sources_under(root):
            key = display_path(source, rootdir)
            if index.has_source(key) or is_kustomization(source):
                continue
            try:
                objects = load_source(source, rootdir)
            except loader.ManifestLoadError:
                objects = []
            index.add(key, objects)
