"""(d) Wall time of `pytest -m spike --artemis-profile smoke` from a cold process (target start included).

Run from the project root: python benchmarks/load_wall_time.py [runs]   (goal < 60 s)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    argv = [sys.executable, "-m", "pytest", "-m", "spike", "--artemis-profile", "smoke", "-q", "-p", "no:cacheprovider",
            "suites/test_load_scenarios.py"]
    for i in range(runs):
        began = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - began
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
        print(f"(d) run {i + 1}: {wall:.1f} s wall, exit {done.returncode}: {last}", flush=True)
    print("    the spike plan itself takes 12 s of load on the smoke profile (goal for the whole run: < 60 s)")


if __name__ == "__main__":
    main()
