"""Cost of the verdict file: a session of N trivial tests that each record a measurement, timed without and with
``--artemis-verdict``, serial and with pytest-xdist ``-n 2``; printed as the ratio with / without.

The goal: 10,000 tests with the verdict file take at most 1.10x the time without, serial and with ``-n 2``.
Each figure is the median of ``ROUNDS`` alternating runs.

Run: python benchmarks/verdict_overhead.py [tests] [rounds]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def session_seconds(directory: Path, *extra: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--artemis-profile=smoke",
                    *extra], cwd=directory, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    tests = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory(prefix="artemis-bench-verdict-") as tmp:
        directory = Path(tmp)
        (directory / "test_many.py").write_text(
            "import pytest\n\n"
            f"@pytest.mark.parametrize('i', range({tests}))\n"
            "def test_measured(i, artemis_record):\n"
            "    artemis_record.measurement('latency', i, 'ms')\n"
        )
        for mode, extra in (("serial", ()), ("-n 2", ("-n", "2"))):
            without, with_verdict = [], []
            for _ in range(rounds):
                without.append(session_seconds(directory, *extra))
                with_verdict.append(session_seconds(directory, *extra, "--artemis-verdict=verdict.json"))
            a, b = statistics.median(without), statistics.median(with_verdict)
            size = (directory / "verdict.json").stat().st_size
            print(f"{tests} tests, {mode}: {a:.2f} s without a verdict file, {b:.2f} s with it: ratio {b / a:.3f} "
                  f"(goal <= 1.10; final file {size / 1024:.0f} KiB; median of {rounds})")


if __name__ == "__main__":
    main()
