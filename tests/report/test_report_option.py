"""``--artemis-report FILE.html`` writes the mission report at session end from the same record as the verdict."""

from __future__ import annotations

import json

import pytest


def test_the_report_option_writes_the_mission_report_beside_the_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.load
        def test_load(artemis_record):
            artemis_record.measurement("p95_ms", 12.5, "ms", limit=1000, comparison="<=", passed=True,
                                       scenario="load", check="load-p95")
        """
    )
    result = pytester.runpytest("--artemis-verdict", "v.json", "--artemis-report", "out/report.html",
                                "--artemis-target", "http://ops:s3cret@127.0.0.1:9", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    page = (pytester.path / "out" / "report.html").read_text()
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert verdict["verdict"] == "GO" and "GO" in page and "s3cret" not in page
    assert "Mission Status" in page and "12.5" in page
