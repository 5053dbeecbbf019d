"""(c) Requests/s with 2 Locust workers vs 1 worker when the generator is the bottleneck (goal >= 1.6x on 2 cores).

Both runs go through the plugin's distributed mode (master + N workers) with a user class that sends back to
back; the reference service runs unpinned beside them, as it would in CI. Alternating order, median of rounds.
Run: python benchmarks/load_distributed.py [seconds] [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys

from load_common import HAMMER, plugin_run, start_target, workdir

from pytest_artemis.load import shapes
from pytest_artemis.load.scenarios import Plan


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    base = workdir("distributed")
    locustfile = base / "hammer.py"
    locustfile.write_text(HAMMER)
    target = start_target(base, core=None)
    try:
        ratios = []
        for i in range(rounds):
            figures = {}
            for workers in ((1, 2) if i % 2 == 0 else (2, 1)):
                d = base / f"round-{i}-w{workers}"
                d.mkdir()
                plan = Plan("load", "bench", shapes.constant(60, seconds), rate_per_user=0, workers=workers)
                result, _, _ = plugin_run(plan, target.url, d, locustfile)
                figures[workers] = (result.rps, result.peak_cpu_percent)
            ratio = figures[2][0] / figures[1][0]
            ratios.append(ratio)
            print(f"round {i + 1}: 1 worker {figures[1][0]:,.0f} req/s (peak CPU {figures[1][1]}), "
                  f"2 workers {figures[2][0]:,.0f} req/s (peak CPU {figures[2][1]}), ratio {ratio:.2f}x", flush=True)
        print(f"(c) 2 workers / 1 worker: median {statistics.median(ratios):.2f}x over {rounds} rounds on "
              f"{os.cpu_count()} cores (goal >= 1.6x)")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
