"""Schema validation of manifests against the Kubernetes OpenAPI schemas shipped by ``kubernetes-validate``.

Strict schemas (``additionalProperties: false``) catch typos such as ``periodSecond``; every error of
an object is reported with its path, not only the first. Validators are built once per
(Kubernetes version, apiVersion, kind) and reused. Kinds with no schema (CRDs, typos in ``kind``)
are a warning, not a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import ManifestObject
from pytest_artemis.checks.registry import check
from pytest_artemis.errors import ManifestError
from pytest_artemis.findings import Finding

__all__ = ["check_schema", "schema_dir", "schema_errors", "supported_versions", "validator_for"]

_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")
_MAX_ERRORS = 50
_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"


def _schema_root() -> Path:
    import kubernetes_validate  # type: ignore[import-untyped]

    return Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


@lru_cache(maxsize=1)
def supported_versions() -> tuple[tuple[int, int], ...]:
    """Kubernetes minor versions with strict schemas, oldest first."""
    found = []
    for entry in _schema_root().iterdir():
        match = _VERSION_DIR.match(entry.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


@cache
def schema_dir(version: str) -> Path:
    """The strict schema directory for ``version`` (the newest one not newer than it)."""
    try:
        wanted = tuple(int(p) for p in version.lstrip("v").split(".")[:2])
    except ValueError as err:
        raise ManifestError(f"Kubernetes version {version!r} is not of the form 1.30") from err
    candidates = [v for v in supported_versions() if v <= wanted]
    if not candidates:
        oldest = ".".join(map(str, supported_versions()[0])) if supported_versions() else "none"
        raise ManifestError(f"no schemas for Kubernetes {version}: the oldest bundled version is {oldest}")
    major, minor = candidates[-1]
    return _schema_root() / f"v{major}.{minor}.0-local-strict"


@cache
def _definitions(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "_definitions.json").read_text(encoding="utf-8"))


@cache
def _registry(directory: Path) -> Registry:
    return Resource.from_contents(_definitions(directory)) @ Registry()


class _Inliner:
    """Replaces ``$ref`` s to the shared definitions by the definitions themselves (once each, shared).

    Resolving references dominates validation time; an inlined schema validates ~2x faster. A
    recursive reference (a type containing itself) stays a ``$ref`` the registry resolves.
    """

    def __init__(self, directory: Path) -> None:
        self.defs: dict[str, Any] = _definitions(directory)["$defs"]
        self.done: dict[str, Any] = {}
        self.stack: list[str] = []

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            name = ref.split("#/$defs/", 1)[1]
            if name in self.stack or name not in self.defs:
                return {**node, "$ref": f"{_DEFINITIONS_URI}#/$defs/{name}"}
            if name not in self.done:
                self.stack.append(name)
                self.done[name] = self(self.defs[name])
                self.stack.pop()
            resolved = self.done[name]
            siblings = {k: v for k, v in node.items() if k != "$ref" and k not in resolved}
            return {**resolved, **siblings} if siblings else resolved
        return {key: (value if key in ("description", "enum") else self(value)) for key, value in node.items()}


@cache
def _inliner(directory: Path) -> _Inliner:
    return _Inliner(directory)


def _schema_file(directory: Path, api_version: str, kind: str) -> Path:
    # rbac.authorization.k8s.io/v1 -> rbac-v1; apps/v1 -> apps-v1; v1 -> v1
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return directory / f"{kind.lower()}-{group_version}.json"


@cache
def validator_for(version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """A strict validator for one kind, built once; None when the version has no schema for it."""
    directory = schema_dir(version)
    path = _schema_file(directory, api_version, kind)
    if not re.fullmatch(r"[A-Za-z0-9.\-]+", path.name) or not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    if kind not in {gvk.get("kind") for gvk in schema.get("x-kubernetes-group-version-kind", ())}:
        return None  # e.g. a "kind" that names a sub-structure (Container, ObjectMeta)
    inlined = _inliner(directory)(schema)
    registry = Resource.from_contents(inlined) @ _registry(directory)
    return jsonschema.Draft202012Validator(inlined, registry=registry)


def _path(error: ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _explain(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf failures, the most relevant branch error (what a person would fix)."""
    if error.context:
        return best_match(error.context)
    return error


def schema_errors(doc: dict[str, Any], version: str) -> tuple[bool, list[str]]:
    """(schema found, every error as "path: message") of one object."""
    validator = validator_for(version, str(doc.get("apiVersion")), str(doc.get("kind")))
    if validator is None:
        return False, []
    messages = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        shown = _explain(error)
        messages.append(f"{_path(shown)}: {shown.message}")
    return True, messages


@check("schema", area="manifests", target="any", severity="critical",
       fix="fix the field named in the message (see `kubectl explain KIND.FIELD`); for CRDs this is a warning")
def check_schema(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Object does not validate against the strict Kubernetes schema (unknown kinds/CRDs: warning)."""
    version = ctx.version
    missing = [key for key in ("apiVersion", "kind") if not obj.doc.get(key)]
    if missing:
        yield obj.finding("schema", f"document has no {' and '.join(missing)}")
        return
    if not obj.name:
        yield obj.finding("schema", "metadata.name is missing")
    try:
        found, errors = schema_errors(obj.doc, version)
    except ManifestError as err:
        yield obj.finding("schema", str(err))
        return
    if not found:
        yield obj.finding("schema", f"no schema for {obj.kind} ({obj.api_version}) in Kubernetes {version}: "
                                    "a custom resource or a misspelt kind/apiVersion; not validated",
                          severity="warning",
                          fix="check kind/apiVersion spelling; custom resources are validated by their CRD")
        return
    for message in errors[:_MAX_ERRORS]:
        yield obj.finding("schema", message)
    if len(errors) > _MAX_ERRORS:
        yield obj.finding("schema", f"... and {len(errors) - _MAX_ERRORS} more schema errors")
