"""(d) Wall time of `pytest -m spike --artemis-profile smoke` from a cold process, target start included.

The spike scenario needs no Prometheus (only endurance reads memory through it), so a plain run starts the
reference service only. The second variant starts the embedded Prometheus as well (a session fixture that
requests ``artemis_prometheus``, which waits until Prometheus is ready), so the goal is checked both ways.
Run from the project root: python benchmarks/load_wall_time.py [runs]   (goal < 20 s with the target start)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WITH_PROMETHEUS = '''
import pytest


@pytest.fixture(scope="session", autouse=True)
def _start_prometheus_too(request):
    request.getfixturevalue("artemis_prometheus")
'''


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    plugin_dir = Path(tempfile.mkdtemp(prefix="artemis-bench-wall-"))
    (plugin_dir / "bench_with_prometheus.py").write_text(WITH_PROMETHEUS, encoding="utf-8")
    argv = [sys.executable, "-m", "pytest", "-m", "spike", "--artemis-profile", "smoke", "-q", "-p", "no:cacheprovider",
            "--artemis-artifacts", str(plugin_dir / "artifacts"),
            "suites/test_load_scenarios.py"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH")]))}
    variants = (("target only", []), ("target + Prometheus", ["-p", "bench_with_prometheus"]))
    walls: dict[str, list[float]] = {name: [] for name, _ in variants}
    for i in range(runs):
        for name, extra in variants:
            history = ["--artemis-history", str(plugin_dir / f"history-{i}-{len(extra)}")]  # no regression gate
            began = time.perf_counter()
            done = subprocess.run(argv + history + extra, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
            wall = time.perf_counter() - began
            walls[name].append(wall)
            last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
            print(f"(d) run {i + 1}, {name}: {wall:.1f} s wall, exit {done.returncode}: {last}", flush=True)
    for name, values in walls.items():
        goal = "goal < 20 s" if name == "target only" else "shown beside it: the spike gate needs no Prometheus"
        print(f"(d) {name}: {min(values):.1f}-{max(values):.1f} s over {runs} cold runs ({goal})")
    print("    the spike plan itself takes 12 s of load on the smoke profile")


if __name__ == "__main__":
    main()
