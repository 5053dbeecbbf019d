"""Generate docs/checks.md from the check registry, and README.md's option and marker tables.

Renders every check area whose package imports (``pytest_artemis.checks.<area>`` registers its
checks on import), each followed by its opinions (checks with a ``why``: beyond what the real tool
enforces) with why they exist and how to turn them off, and the tables between
``<!-- options:start/end -->`` and ``<!-- markers:start/end -->`` in README.md from the plugin's option
table and markers. ``python docs/generate.py`` rewrites both; ``--check`` exits 1 when either is stale.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from pytest_artemis.checks.registry import Check, checks_for, render_docs

__all__ = ["AREAS", "OUTPUT", "README", "TURN_OFF", "available_areas", "main", "render", "render_readme", "turn_off"]

#: Check area -> the module that registers its checks on import.
AREAS: dict[str, str] = {"manifests": "pytest_artemis.checks.manifests", "rules": "pytest_artemis.checks.rules",
                         "dashboards": "pytest_artemis.checks.dashboards", "load": "pytest_artemis.load.gates",
                         "rollout": "pytest_artemis.rollout.checks"}
OUTPUT = Path(__file__).resolve().parent / "checks.md"
README = Path(__file__).resolve().parents[1] / "README.md"


def available_areas() -> list[str]:
    """The areas whose check package imports (an area not written yet is left out)."""
    found = []
    for area, module in AREAS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name and err.name.startswith(module):
                continue
            raise
        found.append(area)
    return found


#: How a check of an area is turned off, beyond ``--artemis-ignore-check`` (which works everywhere).
TURN_OFF: dict[str, str] = {
    "manifests": "`--artemis-ignore-check {id}`, or per object the annotation `artemis.io/ignore: {id}`",
    "rules": "`--artemis-ignore-check {id}`",
    "dashboards": "`--artemis-ignore-check {id}`",
}
#: Checks not run by a gate item (the live suite records them): how to leave them out instead.
OWN_TURN_OFF: dict[str, str] = {
    "dashboard-panel-no-data": "deselect the live test: `-k 'not test_every_dashboard_panel_query_returns_data'`",
}
EXTRA_TURN_OFF: dict[str, str] = {
    "rule-alert-untested": "; or a lower baseline `alert_coverage_percent` (`--artemis-baselines`)",
    "dashboard-theme-sections": "; or leave the tag `artemis` off the dashboard",
    "dashboard-theme-terminology": "; or leave the tag `artemis` off the dashboard",
    "dashboard-theme-palette": "; or leave the tag `artemis` off the dashboard",
    "dashboard-theme-refresh": "; or leave the tag `artemis` off the dashboard",
}
OPINIONS_INTRO = ("A check listed under *opinions* goes beyond what the real tool enforces (promtool, Prometheus' "
                  "PromQL parser, Grafana's dashboard model, the Kubernetes API): its entry says why it exists and "
                  "how to turn it off. Any check a static gate item runs (manifests, rules, dashboards) can be "
                  "turned off with `--artemis-ignore-check ID`.")


def turn_off(c: Check) -> str:
    """How to turn the check off, as docs/checks.md says it."""
    if c.id in OWN_TURN_OFF:
        return OWN_TURN_OFF[c.id]
    return TURN_OFF.get(c.area, "`--artemis-ignore-check {id}`").format(id=c.id) + EXTRA_TURN_OFF.get(c.id, "")


def _opinions(area: str) -> list[str]:
    opinions = sorted((c for c in checks_for(area) if c.opinion), key=lambda c: c.id)
    if not opinions:
        return []
    return [f"### {area}: opinions", "", "| id | severity | why it exists | how to turn it off |", "|---|---|---|---|",
            *(f"| `{c.id}` | {c.severity} | {c.why} | {turn_off(c)} |" for c in opinions), ""]


def render() -> str:
    """docs/checks.md: the registry's reference with each area's opinions after its table."""
    areas = available_areas()
    head, *sections = render_docs(areas).split("\n## ")
    lines = [head.rstrip("\n"), "", OPINIONS_INTRO, ""]
    for area, section in zip(areas, sections, strict=True):
        lines += [f"## {section.rstrip()}", "", *_opinions(area)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _options_table() -> str:
    from pytest_artemis.config import OPTIONS

    rows = ["| option | ini key | environment | default | meaning |", "|---|---|---|---|---|"]
    for spec in OPTIONS:
        default = ", ".join(spec.default) if isinstance(spec.default, tuple) else spec.default
        value = "" if spec.kind == "flag" else " " + (spec.metavar or "VALUE")
        rows.append(f"| `{spec.flag}{value}` | `{spec.ini}` | `{spec.env}` | {default if default not in (None, '') else '-'}"
                    f" | {spec.help} |")
    return "\n".join(rows)


def _markers_table() -> str:
    from pytest_artemis.families import markers

    return "\n".join(["| marker | meaning |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in markers().items()])


def render_readme(text: str) -> str:
    """README.md with its generated tables brought up to date."""
    for name, table in (("options", _options_table()), ("markers", _markers_table())):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{table}\n{end}{tail}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/checks.md is not up to date")
    args = parser.parse_args(argv)
    text = render()
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    readme = README.read_text(encoding="utf-8")
    readme_text = render_readme(readme)
    if args.check:
        stale = [str(p) for p, old, new in ((OUTPUT, current, text), (README, readme, readme_text)) if old != new]
        for path in stale:
            print(f"{path} is stale: run python docs/generate.py", file=sys.stderr)
        return 1 if stale else 0
    OUTPUT.write_text(text, encoding="utf-8")
    README.write_text(readme_text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({', '.join(available_areas())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
