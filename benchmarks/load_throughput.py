"""(a) Requests/s of a scenario run through the plugin vs raw Locust, same user class, same target, side by side.

Target pinned to core 0, generator to core 1 (generator-bound: FastHttpUser without wait). Goal >= 95 %.
Run: python benchmarks/load_throughput.py [seconds] [rounds]
"""

from __future__ import annotations

import sys

from load_common import HAMMER, pin, plugin_run, raw_locust, start_target, workdir

from pytest_artemis.load import shapes
from pytest_artemis.load.scenarios import Plan


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    base = workdir("throughput")
    locustfile = base / "hammer.py"
    locustfile.write_text(HAMMER)
    target = start_target(base)
    try:
        pin(1)
        ratios = []
        for i in range(rounds):
            d = base / f"round-{i}"
            d.mkdir()
            plan = Plan("load", "bench", shapes.constant(50, seconds), rate_per_user=0)
            if i % 2:  # alternate the order: the machine is shared and its load drifts
                result, _, _ = plugin_run(plan, target.url, d, locustfile)
                raw = raw_locust(locustfile, target.url, 50, seconds, d)
            else:
                raw = raw_locust(locustfile, target.url, 50, seconds, d)
                result, _, _ = plugin_run(plan, target.url, d, locustfile)
            # the same measure for both: requests completed / planned seconds of load
            ours, theirs = result.total.requests / seconds, raw["requests"] / seconds
            ratios.append(ours / theirs)
            print(f"round {i + 1}: raw Locust {theirs:,.0f} req/s, plugin {ours:,.0f} req/s, "
                  f"ratio {ours / theirs:.1%}", flush=True)
        ratios.sort()
        print(f"(a) plugin / raw Locust requests/s: median {ratios[len(ratios) // 2]:.1%} over {rounds} rounds "
              f"of {seconds:g} s (goal >= 95%)")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
