"""Command line of the reference service: ``python -m pytest_artemis.services.target --port N`` (``artemis-target``).

Settings and fault switches come from ``ARTEMIS_*`` variables (see faults.py); the flags below override
the warm-up and drain periods and the metrics port.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from pytest_artemis.services.target.faults import FaultError, Settings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artemis-target",
        description="The pytest-artemis reference service (health probes, missions API, /metrics, fault switches).",
        epilog="Environment: ARTEMIS_ADMIN_TOKEN, ARTEMIS_METRICS_TOKEN, ARTEMIS_METRICS_PORT, ARTEMIS_WARMUP_SECONDS, ARTEMIS_DRAIN_SECONDS, ARTEMIS_POOL_SIZE, ARTEMIS_POOL_TIMEOUT_SECONDS, ARTEMIS_WRITE_HOLD_MS, "
               "ARTEMIS_FAULT_LATENCY_MS, ARTEMIS_FAULT_LATENCY_JITTER_MS, ARTEMIS_FAULT_ERROR_RATIO, "
               "ARTEMIS_FAULT_READINESS_DOWN, ARTEMIS_FAULT_DEPENDENCIES_DOWN, ARTEMIS_FAULT_SLOW_STARTUP_SECONDS, "
               "ARTEMIS_FAULT_MEMORY_GROWTH_MB_PER_S.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--metrics-port", type=int,
                        help="serve /metrics on this port only (default: ARTEMIS_METRICS_PORT, else the main port)")
    parser.add_argument("--warmup-seconds", type=float, help="seconds before /health answers 200")
    parser.add_argument("--drain-seconds", type=float, help="seconds of readiness 503 after SIGTERM before exit")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except FaultError as err:
        print(f"artemis-target: {err}", file=sys.stderr)
        return 2
    if args.warmup_seconds is not None:
        settings = dataclasses.replace(settings, warmup_seconds=max(0.0, args.warmup_seconds))
    if args.drain_seconds is not None:
        settings = dataclasses.replace(settings, drain_seconds=max(0.0, args.drain_seconds))
    if args.metrics_port is not None:
        settings = dataclasses.replace(settings, metrics_port=args.metrics_port or None)
    from pytest_artemis.services.target.server import serve  # uvicorn only when serving

    return serve(args.host, args.port, settings, args.log_level)


if __name__ == "__main__":
    sys.exit(main())
