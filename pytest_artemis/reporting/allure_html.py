"""The single-file Allure HTML report of a results directory, built with the Allure 2 command line.

``artemis-report --allure RESULTS -o FILE.html`` runs ``allure generate --single-file`` (npm package
``allure-commandline``, which needs Java 17; ``ARTEMIS_ALLURE=1 ci/setup.sh`` installs both) and copies its
``index.html`` to ``FILE.html``. A missing ``allure`` or ``java`` is a clear one-line error saying how to
install them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pytest_artemis.errors import ConfigError

__all__ = ["INSTALL_HINT", "build_allure_html", "find_allure"]

INSTALL_HINT = ("install Java 17 and the Allure 2 command line (ARTEMIS_ALLURE=1 bash ci/setup.sh, or "
                "apt-get install openjdk-17-jre-headless && npm install -g allure-commandline)")


def find_allure() -> str:
    """The ``allure`` command (PATH, then ./node_modules/.bin); ConfigError naming what is missing."""
    allure = shutil.which("allure") or next((str(p) for p in (Path.cwd() / "node_modules" / ".bin" / "allure",)
                                             if p.is_file()), None)
    if allure is None:
        raise ConfigError(f"the Allure command line (allure) is not installed: {INSTALL_HINT}")
    if shutil.which("java") is None:
        raise ConfigError(f"Java is not installed (the Allure command line needs Java 17): {INSTALL_HINT}")
    return allure


def build_allure_html(results: Path, output: Path, timeout: float = 300.0) -> Path:
    """Generate the single-file Allure report of ``results`` into ``output`` (an .html file)."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ConfigError(f"{results} holds no Allure results (*-result.json): run pytest with --alluredir {results}")
    allure = find_allure()
    with tempfile.TemporaryDirectory(prefix="artemis-allure-") as tmp:
        try:
            done = subprocess.run([allure, "generate", "--single-file", str(results), "-o", tmp, "--clean"],
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ConfigError(f"allure generate failed: {err}") from None
        index = Path(tmp) / "index.html"
        if done.returncode != 0 or not index.is_file():
            tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise ConfigError(f"allure generate --single-file {results} failed (exit {done.returncode}): {tail}")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(index, output)
    return output
