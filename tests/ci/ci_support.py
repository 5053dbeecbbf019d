"""Helpers of the pipeline's own tests (tests/ci): the repository, its tools (from .venv: the dev extra) and a
clean environment for the commands they run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yaml"
# The interpreter running the tests is .venv's (ci/test.sh): its scripts directory holds the dev extra's tools.
BIN = Path(sys.executable).parent
# Copied when a test needs the repository elsewhere: everything but what builds, runs and caches leave behind.
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".artemis", "build", "dist", "*.egg-info", "__pycache__",
                                     ".mypy_cache", ".ruff_cache", ".pytest_cache", "reports", ".benchmarks")


def tool(name: str) -> str:
    """A dev-extra tool: next to the running interpreter, else on PATH; a missing one fails the test."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed: it is in pyproject's dev extra (bash ci/setup.sh installs it)"
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a command a test starts: the caller's, less anything that would tie it to this
    session (its venv, pytest, coverage, Artemis options), with a PATH of system directories first."""
    drop = ("ARTEMIS_", "PYTEST_", "COV_CORE_", "COVERAGE_", "UV_PROJECT", "VIRTUAL_ENV", "PYTHONPATH",
            "PYTHONHOME", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = os.pathsep.join(p for p in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                                              "/sbin", "/bin") if os.path.isdir(p))
    env.update(extra)
    return env


def run(args: list[str], *, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command to its end (bounded), capturing its text; never raises on a non-zero exit."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          check=False, **kwargs)  # type: ignore[call-overload]
