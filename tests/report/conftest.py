"""Fixtures of the mission report's tests: a real session's verdict and report, and a guarded Chromium page.

``mission`` runs :data:`report_suite.SUITE` once per module in its own pytest process (with a secret planted in the
target URL) and renders its report both ways (``write_report`` and the ``artemis-report`` command line).
``browser`` is Debian's chromium driven by Playwright from PyPI (no browser download); the tests that need it
skip with one line when either is missing. :func:`open_page` routes every request: anything that is not the
report's own file (or a ``data:`` URL) is aborted and recorded, and console errors are collected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import report_suite

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MISSING = ("browser tests skipped: they need playwright (pip install playwright) and Debian's chromium "
           "(apt-get install chromium) at {path}; {what} is missing")


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Mission:
    directory: Path
    verdict_path: Path
    verdict: dict[str, Any]
    report: Path  # written by write_report
    cli_report: Path  # written by artemis-report VERDICT.json -o FILE
    cli: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def mission(tmp_path_factory: pytest.TempPathFactory) -> Mission:
    from pytest_artemis.reporting.html import write_report

    directory = tmp_path_factory.mktemp("mission")
    verdict_path = report_suite.run_suite(directory)
    verdict = json.loads(verdict_path.read_text(encoding="utf-8"))
    report = directory / "report.html"
    write_report(verdict, report)
    cli_report = directory / "cli" / "report.html"
    cli = subprocess.run([sys.executable, "-m", "pytest_artemis.reporting.report_cli", str(verdict_path), "-o",
                          str(cli_report)], capture_output=True, text=True, timeout=60, check=False)
    return Mission(directory, verdict_path, verdict, report, cli_report, cli)


@pytest.fixture(scope="module")  # Playwright's sync API keeps an event loop running: not past this module
def browser() -> Iterator[Any]:
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(MISSING.format(path=path, what="playwright"))
    if not os.access(path, os.X_OK):
        pytest.skip(MISSING.format(path=path, what="chromium"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class GuardedPage:
    page: Any
    left_the_file: list[str] = field(default_factory=list)  # requests aborted: they would leave the file
    console_errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.page.context.close()


def _local(url: str, allowed: str) -> bool:
    return url == allowed or url.startswith((allowed + "#", "data:"))


def open_page(browser: Any, path: Path, width: int, height: int = 900) -> GuardedPage:
    """``path`` opened at ``width`` px, every request outside the file aborted and recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
    page = context.new_page()
    url = path.resolve().as_uri()
    guarded = GuardedPage(page)

    def route(route: Any) -> None:
        if _local(route.request.url, url):
            route.continue_()
        else:
            guarded.left_the_file.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("request", lambda request: None if _local(request.url, url) else guarded.left_the_file.append(
        request.url))
    page.on("console", lambda message: guarded.console_errors.append(message.text) if message.type == "error"
            else None)
    page.on("pageerror", lambda error: guarded.console_errors.append(str(error)))
    page.goto(url, wait_until="load")
    return guarded


@pytest.fixture
def open_report(browser: Any) -> Iterator[Callable[[Path, int], GuardedPage]]:
    """Open a report at a width in a guarded page; the pages are closed after the test."""
    pages: list[GuardedPage] = []

    def opener(path: Path, width: int) -> GuardedPage:
        pages.append(open_page(browser, path, width))
        return pages[-1]

    yield opener
    for page in pages:
        page.close()
