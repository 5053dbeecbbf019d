"""``artemis-report VERDICT.json -o FILE.html``: the mission report of a verdict file, after the session;
``artemis-report --allure RESULTS -o FILE.html``: the single-file Allure report of an Allure results directory.

Reads the verdict file (a finished session's, or a killed session's head and journal folded together by
:func:`pytest_artemis.reporting.verdict.fold`: that report is marked incomplete and stays NO-GO) and writes the same
self-contained page ``--artemis-report`` writes at session end. Artifact paths the verdict names (load runs'
time series, the history store) are also looked for under ``--artifacts-root`` (default: the verdict file's
directory), for verdicts whose artifacts were downloaded from a CI job. Exit codes: 0 written, 2 unusable
input or output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pytest_artemis.errors import ConfigError
from pytest_artemis.redact import redact
from pytest_artemis.reporting.verdict import fold

__all__ = ["main", "read_verdict"]


def read_verdict(path: Path) -> dict[str, Any]:
    """The verdict of ``path``: a finished session's file, or a killed session's head and journal folded."""
    try:
        data = fold(path)
    except (AttributeError, KeyError, TypeError) as err:  # JSON, but not a verdict (or a journal line of another)
        raise ConfigError(f"{path} is not a pytest-artemis verdict file ({type(err).__name__}: {err})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a pytest-artemis verdict file (a JSON {type(data).__name__})")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="artemis-report",
        description="Render the Artemis Command Center mission report (one self-contained HTML file) "
                    "from a verdict file written by --artemis-verdict.")
    parser.add_argument("verdict", type=Path, help="the verdict JSON file (with --allure: the Allure results directory)")
    parser.add_argument("--allure", action="store_true",
                        help="build the single-file Allure HTML report of the results directory instead "
                             "(needs Java 17 and the allure command line)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--artifacts-root", type=Path, default=None,
                        help="where to look for the artifacts the verdict names when they are not at their "
                             "recorded paths (default: the verdict file's directory)")
    args = parser.parse_args(argv)
    if args.allure:
        from pytest_artemis.reporting.allure_html import build_allure_html

        try:
            build_allure_html(args.verdict, args.output)
        except ConfigError as err:
            print(redact(f"artemis-report: {err}"), file=sys.stderr)
            return 2
        print(redact(f"artemis-report: Allure report written to {args.output}"))
        return 0
    from pytest_artemis.reporting.html import write_report

    try:
        verdict = read_verdict(args.verdict)
        if "verdict" not in verdict and "tests" not in verdict:
            raise ConfigError(f"{args.verdict} is not a pytest-artemis verdict file (no 'verdict' or 'tests')")
        write_report(verdict, args.output, args.artifacts_root or args.verdict.resolve().parent)
    except ConfigError as err:
        print(redact(f"artemis-report: {err}"), file=sys.stderr)
        return 2
    print(redact(f"artemis-report: {verdict.get('verdict', '?')} mission report written to {args.output}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
