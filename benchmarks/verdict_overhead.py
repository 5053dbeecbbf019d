"""Cost of the verdict file, which is rewritten after every test: a session of N trivial tests that each
record a measurement, timed without and with ``--artemis-verdict``.

Run: python benchmarks/verdict_overhead.py [tests]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def session_seconds(directory: Path, *extra: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], cwd=directory,
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    tests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory(prefix="artemis-bench-verdict-") as tmp:
        directory = Path(tmp)
        (directory / "test_many.py").write_text(
            "import pytest\n\n"
            f"@pytest.mark.parametrize('i', range({tests}))\n"
            "def test_measured(i, artemis_record):\n"
            "    artemis_record.measurement('latency', i, 'ms')\n"
        )
        without = session_seconds(directory)
        with_verdict = session_seconds(directory, "--artemis-verdict", "verdict.json")
        size = (directory / "verdict.json").stat().st_size
    print(f"{tests} tests: {without:.2f} s without a verdict file, {with_verdict:.2f} s with it "
          f"(+{with_verdict - without:.2f} s, final file {size / 1024:.0f} KiB, rewritten after every test)")


if __name__ == "__main__":
    main()
