"""(c) Requests/s with 2 Locust workers vs 1 worker when the generator is the bottleneck (goal >= 1.6x on 2 cores).

Both runs go through the plugin's distributed mode (master + N workers); the reference service runs unpinned
beside them, as it would in CI. Alternating order, median of rounds. Two user classes:
- ``hammer``: back-to-back GETs. On 2 cores the target takes a large share of the CPU, so the run is bound by
  the machine, not by the generator, and the ratio says little about distributed mode;
- ``client-work``: each response is followed by client-side work (as a user that parses and checks what it
  receives), so the generator is the bottleneck by construction: the case the goal is about.
Run: python benchmarks/load_distributed.py [seconds] [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys

from load_common import HAMMER, plugin_run, start_target, workdir

CLIENT_WORK = HAMMER.replace(
    'self.client.get("/health/live")',
    'self.client.get("/health/live")\n        sum(range(40_000))  # client-side work per response',
)

from pytest_artemis.load import shapes
from pytest_artemis.load.scenarios import Plan


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    base = workdir("distributed")
    target = start_target(base, core=None)
    try:
        for name, code in (("hammer", HAMMER), ("client-work", CLIENT_WORK)):
            locustfile = base / f"{name}.py"
            locustfile.write_text(code)
            ratios = []
            for i in range(rounds):
                figures = {}
                for workers in ((1, 2) if i % 2 == 0 else (2, 1)):
                    d = base / f"{name}-round-{i}-w{workers}"
                    d.mkdir()
                    plan = Plan("load", "bench", shapes.constant(60, seconds), rate_per_user=0, workers=workers)
                    result, _, _ = plugin_run(plan, target.url, d, locustfile)
                    figures[workers] = (result.rps, result.peak_cpu_percent)
                ratio = figures[2][0] / figures[1][0]
                ratios.append(ratio)
                print(f"{name} round {i + 1}: 1 worker {figures[1][0]:,.0f} req/s (peak CPU {figures[1][1]}), "
                      f"2 workers {figures[2][0]:,.0f} req/s (peak CPU {figures[2][1]}), ratio {ratio:.2f}x",
                      flush=True)
            print(f"(c) {name}: 2 workers / 1 worker: median {statistics.median(ratios):.2f}x over {rounds} rounds "
                  f"on {os.cpu_count()} cores (goal >= 1.6x when generator-bound)", flush=True)
    finally:
        target.stop()


if __name__ == "__main__":
    main()
