"""Requests per second of the reference service on one CPU core.

The service is pinned to core 0 and the load generator to the other cores, so the figure is the service's,
not the generator's. The generator is ``wrk`` when installed (``apt-get install wrk``), else a small
keep-alive asyncio client run in a child process. Prints one line per endpoint.

    python benchmarks/target_throughput.py [--seconds 5] [--connections 32] [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from pytest_artemis.services.target.control import start_reference_service

ENDPOINTS = ("/health/live", "/api/v1/missions/1", "/api/v1/missions?limit=20")

#: The fallback generator: N keep-alive connections, each sending GETs back to back for S seconds.
PY_CLIENT = textwrap.dedent("""
    import asyncio, sys, time
    host, port, path, seconds, connections = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), \
        int(sys.argv[5])
    request = f"GET {path} HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n".encode()
    done = errors = 0

    async def worker(deadline):
        global done, errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\\r\\n")[0])
            await reader.readexactly(length)
            done += 1
            errors += not head.startswith(b"HTTP/1.1 2")
        writer.close()

    async def main():
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(worker(deadline) for _ in range(connections)))
        print(f"{done / (time.perf_counter() - started):.1f} {errors}")

    asyncio.run(main())
""")


def pin(pid: int, cores: set[int]) -> None:
    if hasattr(os, "sched_setaffinity"):
        for task in Path(f"/proc/{pid}/task").iterdir():  # every thread of the process
            os.sched_setaffinity(int(task.name), cores)


def run_wrk(url: str, seconds: float, connections: int, cores: set[int]) -> tuple[float, int]:
    threads = max(1, min(len(cores), 2))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", url],
                         capture_output=True, text=True, check=True, preexec_fn=lambda: os.sched_setaffinity(0, cores))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out.stdout)
    return rps, int(bad.group(1)) if bad else 0


def run_python(url: str, seconds: float, connections: int, cores: set[int]) -> tuple[float, int]:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    out = subprocess.run([sys.executable, "-c", PY_CLIENT, host, port, "/" + path, str(seconds), str(connections)],
                         capture_output=True, text=True, check=True, preexec_fn=lambda: os.sched_setaffinity(0, cores))
    rps, errors = out.stdout.split()
    return float(rps), int(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else {0}
    server_cores = {min(all_cores)}
    client_cores = (all_cores - server_cores) or all_cores
    with tempfile.TemporaryDirectory() as logs:
        target = start_reference_service(Path(logs), base_env=os.environ)
        try:
            assert target.pid is not None
            pin(target.pid, server_cores)
            print(f"reference service pid {target.pid} on core(s) {sorted(server_cores)}; generator {client} on "
                  f"core(s) {sorted(client_cores)}; {args.connections} connections, {args.seconds:g} s each")
            run = run_wrk if client == "wrk" else run_python
            for path in ENDPOINTS:
                rps, errors = run(target.url + path, args.seconds, args.connections, client_cores)
                print(f"  GET {path:<28} {rps:>10,.0f} requests/s   non-2xx: {errors}")
        finally:
            target.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
