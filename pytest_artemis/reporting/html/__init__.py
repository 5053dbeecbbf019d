"""The Artemis Command Center mission report: one self-contained HTML file rendered from the verdict data.

:func:`render` returns the page for a verdict dict (``SessionRecord.as_dict()`` or the verdict file's JSON);
:func:`write_report` writes it (what ``--artemis-report FILE`` calls at session end); ``artemis-report
VERDICT.json -o FILE`` (:mod:`pytest_artemis.reporting.report_cli`) does the same afterwards.
"""

from __future__ import annotations

from pytest_artemis.reporting.html.render import render, write_report

__all__ = ["render", "write_report"]
