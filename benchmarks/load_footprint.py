"""(e) Generator memory at 1,000 users and the fixed cost of one scenario, plugin vs raw Locust side by side.

Memory: peak resident memory of the Locust process with 1,000 users of the default mix at 0.1 req/s each
(goal < 100 MB). Fixed cost: wall time of a 1-user, 1-second run minus that second (goal < 1.5 s).
Run: python benchmarks/load_footprint.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from load_common import plugin_run, raw_locust, start_target, workdir

import pytest_artemis.load
from pytest_artemis.load import shapes
from pytest_artemis.load.scenarios import Plan


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    base = workdir("footprint")
    target = start_target(base, core=None)
    mix_file = base / "mix.py"
    mix_file.write_text((Path(pytest_artemis.load.__file__).parent / "locustfile.py").read_text().replace(
        'float(os.environ.get("ARTEMIS_LOAD_RATE", "5"))', "0.1"))
    try:
        d = base / "memory"
        d.mkdir()
        plan = Plan("load", "bench", shapes.constant(1000, 10), rate_per_user=0.1)
        _, _, plugin_peak = plugin_run(plan, target.url, d, sample_rss=True)
        raw = raw_locust(mix_file, target.url, 1000, 10, d, sample_rss=True)
        print(f"(e1) peak RSS at 1,000 users: plugin's Locust process {plugin_peak / 2**20:.0f} MB, raw Locust "
              f"{raw['peak_rss'] / 2**20:.0f} MB (goal < 100 MB)", flush=True)
        plugin_costs, raw_costs = [], []
        for i in range(rounds):
            d = base / f"fixed-{i}"
            d.mkdir()
            _result, wall, _ = plugin_run(Plan("load", "bench", shapes.constant(1, 1.0), rate_per_user=5),
                                         target.url, d)
            plugin_costs.append(wall - 1.0)
            raw_costs.append(raw_locust(mix_file, target.url, 1, 1, d)["wall_s"] - 1.0)
        print(f"(e2) fixed cost of one scenario (wall - 1 s of load), median of {rounds}: plugin "
              f"{statistics.median(plugin_costs):.2f} s, raw Locust {statistics.median(raw_costs):.2f} s "
              f"(goal < 1.5 s)")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
