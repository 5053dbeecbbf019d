"""Where a key is written: the line of a probe, the grace period or the preStop hook inside a manifest file.

A rendered object knows the file it came from (kustomize's origin annotation) and the line its document
starts on; this module opens that file again as YAML nodes and walks to a key (``spec``, ``template``,
``spec``, ``containers``, the container named ``api``, ``readinessProbe``) to name its line. It also returns
the value written there, so a caller can tell when a kustomize patch changed it. No pytest imports here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Step", "document_node", "find", "node_value"]

#: A mapping key, or (field, value): the item of a sequence whose ``field`` equals ``value``.
Step = str | tuple[str, str]


@lru_cache(maxsize=64)
def _documents(path: Path, mtime_ns: int) -> tuple[yaml.Node, ...]:
    try:
        text = path.read_text(encoding="utf-8")
        return tuple(node for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()


def _scalar(node: yaml.Node | None, key: str) -> str | None:
    value = _child(node, key)
    return str(value.value) if isinstance(value, yaml.ScalarNode) else None


def _entry(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    entry = _entry(node, key)
    return entry[1] if entry else None


def document_node(path: Path, kind: str, name: str, line: int = 0) -> yaml.Node | None:
    """The document of ``kind``/``name`` in ``path`` (the one starting on ``line`` when given and found).

    A rendered name may carry a kustomize prefix or suffix, so a name that ends or starts with the written
    one matches too; None when the file cannot be read or holds no such document.
    """
    try:
        documents = _documents(path, path.stat().st_mtime_ns)
    except OSError:
        return None
    if line:
        for node in documents:
            if node.start_mark.line + 1 == line and _scalar(node, "kind") == kind:
                return node
    candidates = [n for n in documents if _scalar(n, "kind") == kind]
    for node in candidates:
        written = _scalar(_child(node, "metadata"), "name") or ""
        if written and (written == name or name.endswith(written) or name.startswith(written)):
            return node
    return candidates[0] if len(candidates) == 1 else None


def find(node: yaml.Node | None, steps: Sequence[Step]) -> tuple[int, yaml.Node | None]:
    """Walk ``steps`` from ``node``: (1-based line of the last key reached, its value node or None when the
    walk stopped early). The line is that of the deepest key found on the way (0 when none was)."""
    line = node.start_mark.line + 1 if node is not None else 0
    current = node
    for step in steps:
        if isinstance(step, tuple):
            field, wanted = step
            if not isinstance(current, yaml.SequenceNode):
                return line, None
            match = next((item for item in current.value if _scalar(item, field) == wanted), None)
            if match is None:
                return line, None
            line, current = match.start_mark.line + 1, match
            continue
        entry = _entry(current, step)
        if entry is None:
            return line, None
        line, current = entry[0].start_mark.line + 1, entry[1]
    return line, current


def node_value(node: yaml.Node | None) -> Any:
    """The Python value a node stands for (None for no node)."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
