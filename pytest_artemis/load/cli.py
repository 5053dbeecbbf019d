"""``artemis-load``: the seed's load-testing command line, running the matching pytest selection.

``artemis-load --test-type spike --users 10`` runs ``pytest -m spike <the packaged load suite>
--artemis-load-param users=10`` (plus any pytest arguments after ``--``), so the run is gated on the
baselines and lands in the verdict file like any other pytest run; it works from any directory (``--suite``
names another test file). The exit code is pytest's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_artemis.config import PROFILES
from pytest_artemis.load.scenarios import SCENARIOS

__all__ = ["DEFAULT_SUITE", "build_args", "main"]

DEFAULT_SUITE = Path(__file__).with_name("suite.py")

_SEED_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--users", "users", int, "users (load, endurance) or normal users before the spike"),
    ("--requests", "requests", int, "requests per user (load)"),
    ("--duration", "duration", float, "seconds of load (endurance, chaos, spike)"),
    ("--max-users", "max_users", int, "highest user count (scalability, chaos)"),
    ("--step-size", "step_size", int, "users added per step (scalability)"),
    ("--rate", "rate", float, "requests per second of each default user"),
    ("--seed", "seed", int, "seed of the chaos load pattern and faults (printed by every chaos run)"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artemis-load", description="Run a load scenario as a gated pytest selection.",
        epilog="Arguments after -- go to pytest unchanged, e.g. artemis-load --test-type load -- -x -q")
    parser.add_argument("--test-type", required=True, choices=list(SCENARIOS), help="the scenario to run")
    for flag, _key, kind, help_text in _SEED_FLAGS:
        parser.add_argument(flag, type=kind, default=None, help=help_text)
    parser.add_argument("--profile", choices=PROFILES, default=None, help="scale durations and users")
    parser.add_argument("--workers", type=int, default=None, help="Locust workers (0: one local process)")
    parser.add_argument("--load-mode", choices=("closed", "arrival"), default=None,
                        help="closed (users wait for answers) or arrival (requests start on a fixed schedule, "
                             "latency from the intended start); load, spike and chaos")
    parser.add_argument("--target", default=None, help="URL of the service under test (default: reference service)")
    parser.add_argument("--locustfile", default=None, help="your own Locust file instead of the default mix")
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE, help="test file (default: the load suite shipped with the plugin)")
    return parser


def build_args(argv: list[str]) -> list[str]:
    """The pytest arguments for ``argv`` (raises SystemExit with argparse's message on bad input)."""
    own, _, passthrough = (argv[: argv.index("--")], "--", argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, "", [])
    parser = _parser()
    args = parser.parse_args(own)
    if not args.suite.is_file():
        parser.error(f"--suite {args.suite}: no such file")
    out = [str(args.suite), "-m", args.test_type, "-p", "no:cacheprovider", f"--rootdir={Path.cwd()}"]
    for flag, key, _kind, _help in _SEED_FLAGS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            out += ["--artemis-load-param", f"{key}={value}"]
    for name in ("profile", "workers", "load_mode", "target", "locustfile"):
        value = getattr(args, name)
        if value is not None:
            out += [f"--artemis-{name.replace('_', '-')}", str(value)]
    return out + passthrough


def main(argv: list[str] | None = None) -> int:
    import pytest

    args = build_args(list(sys.argv[1:] if argv is None else argv))
    print("artemis-load: pytest " + " ".join(args), flush=True)
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main())
