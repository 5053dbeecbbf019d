"""What the plugin tests read back from an inner pytester session: its result, output and verdict file."""

from __future__ import annotations

from typing import Any

import pytest


class VerdictRun:
    """pytester's result of one inner session and the verdict file it wrote."""

    def __init__(self, result: pytest.RunResult, verdict: dict[str, Any]) -> None:
        self.result, self.verdict = result, verdict
        self.output = result.stdout.str()

    def measurements(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.verdict.get("measurements", []) if m["name"] == name]

    def measurement(self, name: str) -> dict[str, Any]:
        found = self.measurements(name)
        assert found, f"no measurement {name!r}; have {sorted({m['name'] for m in self.verdict.get('measurements', [])})}"
        return found[0]
