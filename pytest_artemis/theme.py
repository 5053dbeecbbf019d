"""The military theme: every user-facing word and colour of pytest-artemis comes from here.

Terminology maps plain SRE words to the Artemis Command Center's vocabulary; the palette holds the
seed's colours. Reporters, dashboards checks and the terminal summary import from this module only.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BACKGROUND",
    "DASHBOARD_SECTIONS",
    "DEFCON_COLOURS",
    "DEFCON_NAMES",
    "DEFCON_ROLES",
    "FONT_FAMILY",
    "FOREGROUND",
    "GREEN",
    "PALETTE",
    "RED",
    "TERMINAL_MARKUP",
    "TERMINOLOGY",
    "TITLE",
    "VERDICT_GO",
    "VERDICT_NO_GO",
    "YELLOW",
    "term",
]

#: Plain term -> Artemis term (the seed's mapping).
TERMINOLOGY: Final[dict[str, str]] = {
    "System Resources": "System Vitals",
    "CPU Usage": "System Vitals",
    "Performance Metrics": "Operational Readiness",
    "Connection Pools": "Resource Deployment",
    "Error Monitoring": "Threat Detection",
    "Application Logs": "Tactical Intelligence",
    "Uptime": "Mission Duration",
    "Error Rate": "Mission Failure Rate",
    "Connections": "Active Deployments",
}

GREEN: Final = "#1a9641"  # military green: nominal
YELLOW: Final = "#f46d43"  # tactical yellow: warning
RED: Final = "#d73027"  # alert red: critical
BACKGROUND: Final = "#0b0f0c"  # dark tactical background
FOREGROUND: Final = "#c8e6c9"
FONT_FAMILY: Final = "'JetBrains Mono', 'Fira Code', 'DejaVu Sans Mono', monospace"

PALETTE: Final[dict[str, str]] = {
    "ok": GREEN,
    "warning": YELLOW,
    "critical": RED,
    "background": BACKGROUND,
    "foreground": FOREGROUND,
}

TITLE: Final = "Artemis Command Center"

#: Dashboard rows, in order (the seed's sections).
DASHBOARD_SECTIONS: Final[tuple[str, ...]] = (
    "Mission Status Overview",
    "System Vitals",
    "Threat Detection Radar",
    "Operational Readiness",
    "Resource Deployment",
    "Tactical Intelligence Log",
)

VERDICT_GO: Final = "GO"
VERDICT_NO_GO: Final = "NO-GO"

#: DEFCON level -> name (5 is peace, 1 is war).
DEFCON_NAMES: Final[dict[int, str]] = {
    5: "FADE OUT",
    4: "DOUBLE TAKE",
    3: "ROUND HOUSE",
    2: "FAST PACE",
    1: "COCKED PISTOL",
}

#: DEFCON level -> palette role ("ok", "warning", "critical"); DEFCON_COLOURS follows from it.
DEFCON_ROLES: Final[dict[int, str]] = {5: "ok", 4: "ok", 3: "warning", 2: "critical", 1: "critical"}
DEFCON_COLOURS: Final[dict[int, str]] = {level: PALETTE[role] for level, role in DEFCON_ROLES.items()}

#: Terminal markup (pytest TerminalWriter keywords) per palette role.
TERMINAL_MARKUP: Final[dict[str, dict[str, bool]]] = {
    "ok": {"green": True, "bold": True},
    "warning": {"yellow": True, "bold": True},
    "critical": {"red": True, "bold": True},
}


def term(plain: str) -> str:
    """Return the Artemis word for a plain term (unchanged when there is none)."""
    return TERMINOLOGY.get(plain, plain)
