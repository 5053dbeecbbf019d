"""Gate families, declared once: their markers, titles, kind (static or live) and DEFCON role.

Markers, the order of MISSION STATUS, DEFCON and the Allure feature labels all derive from
:data:`FAMILIES`. A test belongs to exactly one family: the one whose markers it carries. A test that
carries markers of two families (because it needs both to be selected) names its family explicitly
with ``@pytest.mark.artemis_family("NAME")``; otherwise collection stops with a usage error naming it.
A test with no family marker is in ``other`` (a live family).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pytest_artemis.load.scenarios import SCENARIOS

__all__ = [
    "DEFCON_OF_FAILURE",
    "EXTRA_MARKERS",
    "FAMILIES",
    "FAMILY_MARKER",
    "FamilyConflict",
    "GateFamily",
    "family_of",
    "markers",
]

Kind = Literal["static", "live"]

#: DEFCON a failed or errored gate of each kind puts the session at.
DEFCON_OF_FAILURE: dict[str, int] = {"static": 3, "live": 2}

#: The marker a test uses to name its family when it carries markers of two.
FAMILY_MARKER = "artemis_family"


@dataclass(frozen=True)
class GateFamily:
    name: str
    title: str  # MISSION STATUS line and Allure feature
    kind: Kind
    markers: tuple[tuple[str, str], ...]  # (marker, description): the markers that put a test in this family

    @property
    def marker_names(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.markers)

    @property
    def defcon_on_failure(self) -> int:
        return DEFCON_OF_FAILURE[self.kind]


FAMILIES: tuple[GateFamily, ...] = (
    GateFamily("manifests", "Manifests (Deployment Orders)", "static",
               (("manifests", "Kubernetes manifest gate: schema and policy checks on manifests."),)),
    GateFamily("rules", "Rules (Early Warning)", "static",
               (("rules", "Prometheus rule gate: promtool checks, rule unit tests, PromQL and naming checks."),)),
    GateFamily("dashboards", "Dashboards (Command Displays)", "static",
               (("dashboards", "Grafana dashboard gate: schema, layout, query and theme checks."),)),
    GateFamily("probes", "Probes (Vital Signs)", "live",
               (("probes", "health probe gate: liveness, readiness and startup endpoints of the target."),)),
    GateFamily("observability", "Observability (Radar Sweep)", "live",
               (("observability", "live monitoring gate: panel queries return data, alerts fire under faults."),)),
    GateFamily("rollout", "Rollout (Troop Movement)", "live",
               (("rollout", "rollout gate: rolling deployment keeps serving while it progresses."),
                ("cluster", ("needs a Kubernetes API server (--artemis-kubeconfig / --artemis-context); "
                            "cluster(namespace=\"test\") gives the test a namespace of its own.")))),
    GateFamily("load", "Load Scenarios (Field Exercises)", "live",
               tuple((s.name, s.description) for s in SCENARIOS.values())),
    GateFamily("other", "Other Checks", "live", ()),
)

BY_NAME: dict[str, GateFamily] = {f.name: f for f in FAMILIES}
_BY_MARKER: dict[str, GateFamily] = {m: f for f in FAMILIES for m in f.marker_names}

#: Markers that put a test in no family.
EXTRA_MARKERS: dict[str, str] = {
    "smoke": "quick check that fits in every pipeline run.",
    FAMILY_MARKER: "artemis_family(NAME): the gate family of a test that carries markers of two families.",
}


class FamilyConflict(ValueError):
    """A test carries markers of two families and names neither with ``artemis_family``."""


def markers() -> dict[str, str]:
    """Every marker the plugin registers, with its description."""
    out = {m: d for f in FAMILIES for m, d in f.markers}
    out.update(EXTRA_MARKERS)
    return out


def family_of(marker_names: Iterable[str], explicit: str | None = None) -> GateFamily:
    """The one family of a test from its marker names (``explicit``: its ``artemis_family`` argument)."""
    if explicit is not None:
        if explicit not in BY_NAME:
            raise FamilyConflict(f"artemis_family({explicit!r}): known families are {', '.join(BY_NAME)}")
        return BY_NAME[explicit]
    found = {_BY_MARKER[m].name: _BY_MARKER[m] for m in marker_names if m in _BY_MARKER}
    if len(found) > 1:
        raise FamilyConflict(f"carries markers of the gate families {', '.join(sorted(found))}; name its family "
                             f"with @pytest.mark.{FAMILY_MARKER}(\"NAME\")")
    return next(iter(found.values()), BY_NAME["other"])


def is_artemis_marker(name: str) -> bool:
    return name in _BY_MARKER or name in EXTRA_MARKERS
