"""docs/checks.md is generated from the check registry and must not go stale.

The generator runs in a child process: it imports every check area afresh, as a user running it would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_artemis.checks.registry import checks_for

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_checks_md_matches_the_registry_run_docs_generate_py_to_fix() -> None:
    done = subprocess.run([sys.executable, str(DOCS / "generate.py"), "--check"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_every_manifest_check_id_is_documented_with_severity_and_fix() -> None:
    text = (DOCS / "checks.md").read_text(encoding="utf-8")
    for registered in checks_for("manifests"):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{registered.id}` |"))
        assert f"| {registered.severity} |" in row and registered.fix and registered.fix in row
