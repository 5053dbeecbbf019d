"""pytest-xdist: ``-n 2`` gives the same items, outcomes, verdict and DEFCON as a serial run; tests that send
generated traffic never overlap in time, whichever worker runs them."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _gates(tmp: Path, *extra: str) -> dict:
    verdict = tmp / f"v{len(extra)}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ARTEMIS_"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "manifests or rules or dashboards", "-q",
                           "-p", "no:cacheprovider", f"--artemis-verdict={verdict}", f"--artemis-artifacts={tmp / 'a'}",
                           *extra], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "ARTEMIS MISSION STATUS" in done.stdout
    return json.loads(verdict.read_text())


def test_two_workers_gate_the_same_items_with_the_same_outcomes_verdict_and_defcon(tmp_path: Path) -> None:
    serial, parallel = _gates(tmp_path), _gates(tmp_path, "-n", "2")
    outcomes = {t["nodeid"]: t["outcome"] for t in serial["tests"]}
    assert outcomes and {t["nodeid"]: t["outcome"] for t in parallel["tests"]} == outcomes
    assert (parallel["verdict"], parallel["defcon"], parallel["gates"]) == \
        (serial["verdict"], serial["defcon"], serial["gates"])
    assert not [n for n in outcomes if n.startswith(("tests/", "../"))], "only the gating suites and the kit"


def test_tests_holding_the_traffic_slot_never_overlap_on_two_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json, os, time
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_sends_traffic(artemis_traffic_slot, n):
            start = time.monotonic()
            time.sleep(0.4)
            with open(f"span-{n}.json", "w") as fh:
                json.dump([start, time.monotonic(), os.environ.get("PYTEST_XDIST_WORKER")], fh)
        """
    )
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=4)
    spans = sorted(json.loads(p.read_text()) for p in pytester.path.glob("span-*.json"))
    assert len({worker for _, _, worker in spans}) == 2, "both workers ran some"
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert start >= end, f"traffic overlapped: {spans}"
