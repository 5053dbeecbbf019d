"""Shared helpers of the load benchmarks: a pinned reference service, raw Locust runs, plugin runs, percentiles.

Pinning: the reference service is started while this process is pinned to core 0 (children inherit the
CPU affinity, like ``taskset -c 0``); the load generator runs after re-pinning this process to core 1.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from pytest_artemis.load.results import RunResult
from pytest_artemis.load.runner import LoadRunner, RunOptions
from pytest_artemis.load.scenarios import Plan
from pytest_artemis.services.target.control import Target, start_reference_service

__all__ = ["HAMMER", "exact_percentile", "pin", "plugin_run", "raw_locust", "start_target", "workdir"]

HAMMER = """
from locust import FastHttpUser, constant, task

class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def live(self):
        self.client.get("/health/live")
"""


def workdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"artemis-bench-{name}-"))


def pin(*cores: int) -> None:
    """Pin this process (and the children it starts from now on) to ``cores`` (no-op with fewer CPUs)."""
    available = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
    wanted = {c for c in cores if c in available}
    if wanted:
        os.sched_setaffinity(0, wanted)


def start_target(directory: Path, core: int | None = 0) -> Target:
    if core is not None:
        pin(core)
    target = start_reference_service(directory / "target", base_env=os.environ)
    pin(*range(os.cpu_count() or 1))
    return target


def raw_locust(locustfile: Path, host: str, users: int, seconds: float, directory: Path,
               sample_rss: bool = False) -> dict[str, Any]:
    """Plain ``locust --headless``: wall time, Requests/s and percentiles from its CSV, peak RSS."""
    prefix = directory / "raw"
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
            "-t", f"{seconds:g}s", "--host", host, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
            "--stop-timeout", "2"]
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        if sample_rss:
            try:
                peak = max(peak, psutil.Process(process.pid).memory_info().rss)
            except psutil.Error:
                pass
        time.sleep(0.1)
    wall = time.perf_counter() - began
    with (directory / "raw_stats.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    def number(key: str) -> float:
        try:
            return float(row[key])
        except ValueError:
            return math.nan

    return {"wall_s": wall, "rps": number("Requests/s"), "requests": int(row["Request Count"]),
            "p50": number("50%"), "p95": number("95%"), "p99": number("99%"), "peak_rss": peak}


def plugin_run(plan: Plan, host: str, directory: Path, locustfile: Path | None = None,
               sample_rss: bool = False) -> tuple[RunResult, float, int]:
    """A run through the plugin's runner: (result, wall seconds, peak RSS of its Locust processes)."""
    runner = LoadRunner()
    peak = 0
    stop = False

    def watch() -> None:
        nonlocal peak
        while not stop:
            total = 0
            for child in psutil.Process().children(recursive=True):
                try:
                    if "pytest_artemis.load.child" in " ".join(child.cmdline()):
                        total = max(total, child.memory_info().rss)
                except psutil.Error:
                    pass
            peak = max(peak, total)
            time.sleep(0.1)

    import threading

    thread = threading.Thread(target=watch, daemon=True)
    if sample_rss:
        thread.start()
    began = time.perf_counter()
    result = runner.run(plan, RunOptions(target=host, run_dir=directory / "plugin", locustfile=locustfile,
                                         metrics_path=None))
    wall = time.perf_counter() - began
    stop = True
    if sample_rss:
        thread.join()
    return result, wall, peak


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]
