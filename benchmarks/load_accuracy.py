"""(b) Percentiles the plugin reports vs exact per-request times at a fixed rate, and p50 vs evenly spaced load.

1. 20 users x 10 requests/s (200 req/s) with the default phased pacing; a listener in the same Locust process
   logs every unrounded response time; the plugin's p50/p95/p99 are compared with the exact nearest-rank
   percentiles of those times (goal: within max(5 %, 1 ms)); Locust's own rounded CSV figures shown beside.
2. p50 at 200 req/s: plugin (phased pacing) vs Locust's constant_throughput (all users in step) vs an evenly
   spaced client (one request every 5 ms, keep-alive; goal: plugin <= 1.3x the even client).
Target pinned to core 0, generator to core 1. Run: python benchmarks/load_accuracy.py [seconds]
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from load_common import exact_percentile, pin, plugin_run, start_target, workdir

from pytest_artemis.load import shapes
from pytest_artemis.load.scenarios import Plan

USERS, RATE, PATH = 20, 10.0, "/api/v1/missions/1"

LOGGED = """
import json, os
from locust import FastHttpUser, constant_throughput, events, task
from pytest_artemis.load import locustfile as mix

TIMES = []
events.request.add_listener(lambda response_time, **_: TIMES.append(response_time))

@events.quitting.add_listener
def _dump(environment, **_):
    with open(os.environ["EXACT_TIMES"], "w") as fh:
        json.dump(TIMES, fh)

class Reader(FastHttpUser):
    wait_time = {wait}

    @task
    def read(self):
        self.client.get("{path}")
"""


def even_client(url: str, rate: float, seconds: float) -> list[float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    times, period = [], 1.0 / rate
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        due = start + i * period
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        began = time.perf_counter()
        conn.request("GET", PATH)
        conn.getresponse().read()
        times.append((time.perf_counter() - began) * 1000)
        i += 1
    conn.close()
    return times


def run(base: Path, url: str, wait: str, seconds: float, tag: str) -> tuple[dict, list[float]]:
    import os

    d = base / tag
    d.mkdir()
    locustfile = d / "logged.py"
    locustfile.write_text(LOGGED.replace("{wait}", wait).replace("{path}", PATH))
    os.environ["EXACT_TIMES"] = str(d / "exact.json")
    plan = Plan("load", "bench", shapes.constant(USERS, seconds), rate_per_user=RATE)
    result, _, _ = plugin_run(plan, url, d, locustfile)
    exact = json.loads((d / "exact.json").read_text())
    figures = {q: result.total.p(q) for q in (50, 95, 99)}
    return figures, exact


def run_single(base: Path, url: str, seconds: float) -> tuple[dict, list[float]]:
    """One user at the full rate: requests evenly spaced, with the same HTTP client as the plugin's users."""
    import os

    d = base / "single"
    d.mkdir()
    locustfile = d / "logged.py"
    locustfile.write_text(LOGGED.replace("{wait}", f"mix.phased_throughput({USERS * RATE})").replace("{path}", PATH))
    os.environ["EXACT_TIMES"] = str(d / "exact.json")
    plan = Plan("load", "bench", shapes.constant(1, seconds), rate_per_user=USERS * RATE)
    result, _, _ = plugin_run(plan, url, d, locustfile)
    return {q: result.total.p(q) for q in (50, 95, 99)}, []


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15
    base = workdir("accuracy")
    target = start_target(base)
    try:
        pin(1)
        figures, exact = run(base, target.url, f"mix.phased_throughput({RATE})", seconds, "phased")
        print(f"(b1) {len(exact):,} requests at {USERS * RATE:g} req/s: plugin vs exact unrounded times")
        worst = 0.0
        for q in (50, 95, 99):
            e = exact_percentile(exact, q)
            diff = abs(figures[q] - e)
            allowed = max(0.05 * e, 1.0)
            worst = max(worst, diff / allowed)
            print(f"  p{q}: plugin {figures[q]:.3f} ms, exact {e:.3f} ms, difference {diff:.3f} ms "
                  f"(allowed {allowed:.3f} ms)")
        print(f"  worst difference / allowance: {worst:.2f} (goal <= 1)")
        stepped, _ = run(base, target.url, f"constant_throughput({RATE})", seconds, "stepped")
        even = even_client(target.url, USERS * RATE, seconds)
        even_p50 = statistics.median(even)
        single, _ = run_single(base, target.url, seconds)
        print(f"(b2) p50 at {USERS * RATE:g} req/s: plugin phased {figures[50]:.3f} ms, Locust constant_throughput "
              f"{stepped[50]:.3f} ms, evenly spaced: http.client {even_p50:.3f} ms, one FastHttpUser every "
              f"{1000 / (USERS * RATE):g} ms {single[50]:.3f} ms")
        print(f"  plugin / even (same HTTP client) = {figures[50] / single[50]:.2f}x (goal <= 1.3x); "
              f"plugin / even (http.client) = {figures[50] / even_p50:.2f}x; "
              f"constant_throughput / even (same client) = {stepped[50] / single[50]:.2f}x")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
