"""Open-model load (arrival mode) against the reference service, side by side in one run.

(a) achieved arrival rate vs planned: 10 connections x 50 req/s = 500 req/s for 30 s in arrival mode; every
    request's actual send time is logged in the Locust process (goal: within 1 % of 500 req/s).
(b) with the stall fault on (the whole service pauses 200 ms every 5 s): the plugin's corrected p99 (from the
    intended start) vs a reference open-model client written plainly below (asyncio, one task per scheduled
    request, exact per-request times from the intended start; goal: within max(5 %, 2 ms)), and beside them the
    plugin's uncorrected p99 (from the actual send) and the closed-model p99 of the same plan (10 users pacing
    50 req/s each, waiting for their answers: it sends little during a pause, so the pause hides from it).
(c) per-core generator throughput, generator-bound (GET /health/live, 50 connections): requests per CPU-second
    of the Locust process in arrival mode (planned at 1.5x what one core sends, so it drops the rest) vs the
    closed-model FastHttpUser rate, back to back (goal >= 90 %), in alternating rounds.
Target pinned to core 0, generators (Locust and the reference client) to core 1; the script starts and stops the
target and every run is bounded. Run from the project root: python benchmarks/open_model.py [seconds] [parts]
(parts: any of a, b, c; default abc).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from load_common import HAMMER, exact_percentile, pin, plugin_run, start_target, workdir

from pytest_artemis.load import shapes
from pytest_artemis.load.results import RunResult
from pytest_artemis.load.scenarios import Plan

PATH = "/api/v1/missions/1"
USERS, RATE = 10, 50.0  # 500 req/s
STALL = {"stall_ms": 200, "stall_every_s": 5}

READER = """
import json, os, time
from locust import FastHttpUser, events, task
from pytest_artemis.load import locustfile as mix

SENT = []
events.request.add_listener(lambda response_time, **_: SENT.append(time.time() - response_time / 1000))

@events.quitting.add_listener
def _dump(environment, **_):
    path = os.environ.get("SEND_TIMES")
    if path:
        with open(path, "w") as fh:
            json.dump(SENT, fh)

class Reader(FastHttpUser):
    wait_time = mix.phased_throughput({rate})  # closed mode; arrival mode runs one task per scheduled start

    @task
    def read(self):
        self.client.get("{path}")
"""

# ---------------------------------------------------------------------- the reference open-model client


Idle = list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]


async def _connection(host: str, port: int, idle: Idle) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The most recently used keep-alive connection (the service closes one idle for 5 s), else a new one."""
    while idle:
        reader, writer, used = idle.pop()
        if time.perf_counter() - used < 3.0:
            return reader, writer
        writer.close()
    return await asyncio.open_connection(host, port)


async def _fetch(host: str, port: int, idle: Idle) -> None:
    for attempt in (1, 2):  # a kept connection the service closed meanwhile: once more on a new one
        reader, writer = await _connection(host, port, idle if attempt == 1 else [])
        try:
            writer.write(f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            if attempt == 2:
                raise
            continue
        idle.append((reader, writer, time.perf_counter()))
        return


async def _reference(url: str, rate: float, seconds: float) -> list[float]:
    """One task per scheduled request (every 1/rate s); each time from its intended start to its answer (ms)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: Idle = []
    times: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        await _fetch(host, port, idle)
        times.append((time.perf_counter() - due) * 1000)

    start = time.perf_counter()
    for k in range(int(rate * seconds)):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    for _, writer, _ in idle:
        writer.close()
    return times


# ---------------------------------------------------------------------- runs


def _plugin(base: Path, tag: str, url: str, plan: Plan, source: str) -> tuple[RunResult, Path]:
    d = base / tag
    d.mkdir()
    locustfile = d / "users.py"
    locustfile.write_text(source)
    os.environ["SEND_TIMES"] = str(d / "sent.json")
    result, _, _ = plugin_run(plan, url, d, locustfile)
    return result, d / "sent.json"


def _cpu_share(result: RunResult, role: str = "local") -> float:
    """Mean CPU of the Locust process over the seconds with load (1.0 = one core), first and last left out."""
    busy = [s.cpu_percent.get(role, 0.0) for s in result.samples if s.total.requests][1:-1]
    return sum(busy) / len(busy) / 100 if busy else math.nan


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    parts = sys.argv[2] if len(sys.argv) > 2 else "abc"
    base = workdir("open-model")
    target = start_target(base)
    admin = target.admin
    assert admin is not None
    try:
        pin(1)
        reader = READER.replace("{rate}", f"{RATE:g}").replace("{path}", PATH)
        arrival = Plan("load", "bench", shapes.constant(USERS, seconds), rate_per_user=RATE, mode="arrival")
        closed = Plan("load", "bench", shapes.constant(USERS, seconds), rate_per_user=RATE)
        planned = USERS * RATE

        if "a" in parts:
            _achieved(base, target.url, arrival, reader, planned, seconds)
        if "b" in parts:
            _stalled(base, target.url, arrival, closed, reader, planned, seconds, admin)
        if "c" in parts:
            _per_core(base, target.url)
    finally:
        target.stop()


def _achieved(base: Path, url: str, arrival: Plan, reader: str, planned: float, seconds: float) -> None:
    result, sent_path = _plugin(base, "a-arrival", url, arrival, reader)
    sent = sorted(json.loads(sent_path.read_text()))
    achieved = (len(sent) - 1) / (sent[-1] - sent[0])
    print(f"(a) achieved arrival rate {achieved:,.2f} req/s vs planned {planned:g} req/s over {seconds:g} s "
          f"({len(sent):,} requests sent, {result.dropped_iterations} dropped): ratio {achieved / planned:.4f} "
          f"(goal within 1%: 0.99-1.01)", flush=True)


def _stalled(base: Path, url: str, arrival: Plan, closed: Plan, reader: str, planned: float, seconds: float,
         admin: Any) -> None:
    admin.set(**STALL)  # the stall clock starts here: the first pause comes 5 s later, inside the run
    stalled, _ = _plugin(base, "b-arrival", url, arrival, reader)
    admin.reset()
    admin.set(**STALL)
    time.sleep(1.0)  # the same phase as the plugin runs (their Locust process takes about a second to start)
    reference = asyncio.run(_reference(url, planned, seconds))
    admin.reset()
    admin.set(**STALL)
    closed_run, _ = _plugin(base, "b-closed", url, closed, reader)
    admin.reset()
    ours, ref = stalled.total.p_corrected(99), exact_percentile(reference, 99)
    allowed = max(0.05 * ref, 2.0)
    print(f"(b) stall {STALL['stall_ms']} ms every {STALL['stall_every_s']} s, {planned:g} req/s for {seconds:g} s: "
          f"p99 corrected {ours:,.1f} ms vs reference open-model client {ref:,.1f} ms (difference "
          f"{abs(ours - ref):,.1f} ms, allowed {allowed:,.1f} ms): ratio {ours / ref:.3f} (goal "
          f"{1 - allowed / ref:.3f}-{1 + allowed / ref:.3f}); beside them: uncorrected "
          f"{stalled.total.p_uncorrected(99):,.1f} ms, closed model of the same plan "
          f"{closed_run.total.p(99):,.1f} ms ({closed_run.total.requests:,} requests vs "
          f"{stalled.total.requests:,} open; {stalled.dropped_iterations} dropped)", flush=True)


def _per_core(base: Path, url: str, rounds: int = 2) -> None:
    """Requests per CPU-second of the Locust process, closed (50 users back to back) and arrival (50 connections,
    planned at 1.5x the closed rate, so the generator is the bottleneck); rounds alternate the order."""
    closed, arrival = [], []
    for i in range(rounds):
        for mode in ("closed", "arrival") if i % 2 == 0 else ("arrival", "closed"):
            if mode == "closed":
                plan = Plan("load", "bench", shapes.constant(50, 10), rate_per_user=0)
            else:
                rate = 1.5 * (closed[-1][0] if closed else 10_000)
                plan = Plan("load", "bench", shapes.constant(50, 10), rate_per_user=rate / 50, mode="arrival",
                            in_flight=100)
            run, _ = _plugin(base, f"c-{mode}-{i}", url, plan, HAMMER)
            rps = run.total.requests / run.load_seconds
            (closed if mode == "closed" else arrival).append((rps, _cpu_share(run)))
            dropped = f", {run.dropped_iterations:,} dropped" if mode == "arrival" else ""
            print(f"    (c) round {i + 1} {mode}: {rps:,.0f} req/s at {_cpu_share(run):.0%} CPU: "
                  f"{rps / _cpu_share(run):,.0f} requests per CPU-second{dropped}", flush=True)
    per_core = {name: sum(r for r, _ in runs) / sum(c for _, c in runs) for name, runs in
                (("closed", closed), ("arrival", arrival))}
    print(f"(c) generator requests per CPU-second: arrival {per_core['arrival']:,.0f} vs closed FastHttpUser "
          f"{per_core['closed']:,.0f} over {rounds} alternating rounds: ratio "
          f"{per_core['arrival'] / per_core['closed']:.1%} (goal >= 90%)", flush=True)


if __name__ == "__main__":
    main()
