"""The manifest gate: Kubernetes manifests (plain YAML, List kinds, kustomize renders) as test items.

Importing this package registers every manifest check with the registry (``checks_for("manifests")``).
Modules: ``loader`` (YAML, kustomize), ``model`` (the object), ``context`` (cross-object index),
``engine`` (objects -> findings), ``schema`` and one module per check area, ``collect`` (pytest items).
"""

from __future__ import annotations

from pytest_artemis.checks.manifests import (  # noqa: F401 - imported to register their checks
    containers,
    network,
    probes,
    resources,
    schema,
    security,
    workloads,
)
from pytest_artemis.checks.manifests.context import CheckContext, ManifestIndex
from pytest_artemis.checks.manifests.engine import evaluate, load_source
from pytest_artemis.checks.manifests.model import ManifestObject

__all__ = ["CheckContext", "ManifestIndex", "ManifestObject", "evaluate", "load_source"]
