"""The check registry: every static or online check registers here with a stable id.

A check is a small function returning findings (never asserting). Its id is kebab-case and part of
the interface; its one-line doc is the first line of its docstring; the docs in ``docs/checks.md``
are generated from this registry (see :func:`render_docs`). A check that goes beyond what the real tool
enforces (promtool, Prometheus' PromQL parser, Grafana's dashboard model, the Kubernetes API) is an
opinion and says why it exists in ``why``; the docs add how to turn it off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pytest_artemis.findings import SEVERITY_RANK, Finding, Severity

__all__ = ["REGISTRY", "Check", "check", "checks_for", "render_docs"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Check:
    """A registered check."""

    id: str
    area: str  # "manifests", "rules", "dashboards"
    target: str  # what it inspects: a kind ("Deployment", "workload"), "rule", "dashboard" ...
    severity: Severity
    doc: str
    func: Callable[..., Iterable[Finding]]
    fix: str = ""
    group: str = "core"  # e.g. "theme" for the kit-only dashboard checks
    online: bool = False  # needs a live server
    why: str = ""  # an opinion (beyond what the real tool enforces) says why it exists; empty: not an opinion

    @property
    def opinion(self) -> bool:
        return bool(self.why)

    def __call__(self, *args: Any, **kwargs: Any) -> list[Finding]:
        return list(self.func(*args, **kwargs))


REGISTRY: dict[str, Check] = {}


def check(
    id: str,
    *,
    area: str,
    target: str,
    severity: Severity,
    fix: str = "",
    group: str = "core",
    online: bool = False,
    why: str = "",
) -> Callable[[F], F]:
    """Register the decorated function as the check ``id``."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"check {id}: unknown severity {severity!r}")

    def register(func: F) -> F:
        known = REGISTRY.get(id)
        if known is not None and _origin(known.func) != _origin(func):
            raise ValueError(f"check id {id!r} registered twice: {_origin(known.func)} and {_origin(func)}")
        doc = (func.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"check {id} needs a one-line docstring")
        REGISTRY[id] = Check(id, area, target, severity, doc[0].strip(), func, fix, group, online, why)
        return func

    return register


def _origin(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def checks_for(area: str, *, exclude: Iterable[str] = (), groups: Iterable[str] | None = None) -> list[Check]:
    """Registered checks of one area, minus the excluded ids, optionally only some groups."""
    excluded = set(exclude)
    wanted = set(groups) if groups is not None else None
    return [
        c
        for c in REGISTRY.values()
        if c.area == area and c.id not in excluded and (wanted is None or c.group in wanted)
    ]


def render_docs(areas: Iterable[str]) -> str:
    """Markdown reference of every registered check of the given areas (what docs/checks.md holds)."""
    lines = ["# Check reference", "", "Generated from the check registry; a test keeps it in step.", ""]
    for area in areas:
        lines += [f"## {area}", "", "| id | target | severity | group | what it finds | fix |", "|---|---|---|---|---|---|"]
        for c in sorted(checks_for(area), key=lambda c: c.id):
            online = " (online)" if c.online else ""
            lines.append(f"| `{c.id}` | {c.target} | {c.severity} | {c.group}{online} | {c.doc} | {c.fix} |")
        lines.append("")
    return "\n".join(lines)
