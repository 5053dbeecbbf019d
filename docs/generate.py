"""Generate docs/checks.md from the check registry, and README.md's option and marker tables.

Renders every check area whose package imports (``pytest_artemis.checks.<area>`` registers its
checks on import), and the tables between ``<!-- options:start/end -->`` and ``<!-- markers:start/end -->``
in README.md from the plugin's option table and markers. ``python docs/generate.py`` rewrites both;
``--check`` exits 1 when either is stale.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from pytest_artemis.checks.registry import render_docs

__all__ = ["AREAS", "OUTPUT", "README", "available_areas", "main", "render", "render_readme"]

#: Check area -> the module that registers its checks on import.
AREAS: dict[str, str] = {"manifests": "pytest_artemis.checks.manifests", "rules": "pytest_artemis.checks.rules",
                         "dashboards": "pytest_artemis.checks.dashboards", "load": "pytest_artemis.load.gates"}
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


def render() -> str:
    return render_docs(available_areas()).rstrip("\n") + "\n"


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
