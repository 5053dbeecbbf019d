"""The mission report in Debian's chromium (Playwright), at desktop (1280 px) and phone (390 px) widths.

Every page is opened with every request routed: anything but the report file itself is aborted and recorded.
Screenshots go to the test's tmp directory (the path is printed; ``-s`` shows it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import report_suite

from pytest_artemis.findings import Finding
from pytest_artemis.reporting.html import write_report
from pytest_artemis.reporting.html.model import HEADLINE
from pytest_artemis.reporting.html.panels import SECTIONS

HEADLINE_NAMES = {name for _, _, names in HEADLINE for name in names}
#: Lay out panels that are off screen too (content-visibility: auto skips them until scrolled to).
SHOW_ALL = ".panel { content-visibility: visible !important; }"


@pytest.fixture(params=[1280, 390], ids=["desktop-1280px", "phone-390px"])
def width(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _screenshot(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_every_panel_is_present_and_shown(mission: Any, open_report: Any, width: int, tmp_path: Path) -> None:
    view = open_report(mission.report, width)
    for panel, title in SECTIONS.items():
        section = view.page.locator(f"section#{panel}")
        assert section.count() == 1, panel
        assert section.locator("h2").text_content() == title
        section.scroll_into_view_if_needed()
        assert section.is_visible(), panel
    _screenshot(view.page, tmp_path / f"mission-report-{width}px.png")


def test_the_verdict_and_figures_equal_the_verdict_file(mission: Any, open_report: Any, width: int) -> None:
    page, verdict = open_report(mission.report, width).page, mission.verdict
    assert page.locator("#verdict").text_content() == verdict["verdict"]
    level = verdict["defcon"]["level"]
    assert page.locator("#defcon").get_attribute("data-level") == str(level)
    assert f"DEFCON {level}" in page.locator("#defcon").text_content()
    assert verdict["defcon"]["name"] in page.locator("#defcon").text_content()
    assert page.locator('[data-readout="environment"] dd').text_content() == verdict["config"]["environment"]
    assert page.locator('[data-readout="target"] dd').text_content() == verdict["config"]["target"]
    rows = page.locator("table.gates tbody tr")
    assert rows.count() == len(verdict["gates"])
    for i, counts in enumerate(verdict["gates"].values()):
        cells = [c.strip() for c in rows.nth(i).locator("td").all_text_contents()]
        assert cells[1:] == [str(counts[k]) for k in ("passed", "failed", "error", "skipped", "warnings")] \
            + [counts["verdict"]]
    judged = [Finding.from_dict(f) for t in verdict["tests"] for f in t["findings"]
              if f["figure"] in HEADLINE_NAMES and not f["endpoint"] and f["scenario"]]
    assert len(judged) == 5
    for f in judged:
        tile = page.locator(f'article[data-scenario="{f.scenario}"] .kpi[data-name="{f.figure}"]')
        assert tile.locator(".kpi-value").text_content() == f.shown_value()
        assert tile.get_attribute("data-status") == f.status
    for severity in ("critical", "warning", "info"):
        expected = sum(1 for f in verdict["findings"] if f["severity"] == severity)
        shown = page.locator(f'#threat-detection .count[data-severity="{severity}"] b').text_content()
        assert shown == str(expected), severity
    manifests = [t for t in verdict["tests"] if t["gate"] == "manifests"]
    assert page.locator("table.objects tbody tr").count() == len(manifests)


def test_the_charts_are_drawn(mission: Any, open_report: Any, width: int) -> None:
    page = open_report(mission.report, width).page
    page.add_style_tag(content=SHOW_ALL)
    charts = page.locator("svg.chart-svg")
    assert charts.count() == 5  # memory, CPU, latency, throughput, the green runs' trend
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 90
    lines = page.locator("svg.chart-svg path.series")
    assert lines.count() == 10
    for d in (lines.nth(i).get_attribute("d") for i in range(lines.count())):
        assert re.match(r"M[\d.]+ [\d.]+([LH][\d.]+)", d or ""), d
    assert page.locator("svg.chart-svg rect.band").count() >= 4  # the fault switched on, shaded
    assert page.locator("svg.chart-svg line.phase").count() == 4  # normal | spike | recovery, twice


def test_no_console_error_and_no_request_leaves_the_file(mission: Any, open_report: Any, width: int) -> None:
    view = open_report(mission.report, width)
    view.page.locator('#threat-detection .count[data-severity="critical"]').click()
    view.page.evaluate("window.dispatchEvent(new Event('beforeprint')); window.dispatchEvent(new Event('afterprint'))")
    view.page.wait_for_timeout(200)
    assert view.console_errors == []
    assert view.left_the_file == []


def test_the_request_guard_catches_a_page_that_reaches_out(open_report: Any, tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://192.0.2.1/pixel.png"><script>console.error("boom")</script>')
    view = open_report(page, 390)
    assert "http://192.0.2.1/pixel.png" in view.left_the_file
    assert "boom" in view.console_errors


def test_nothing_is_wider_than_a_phone(mission: Any, open_report: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    write_report(report_suite.big_verdict(mission.verdict, 2000), big)
    for report in (mission.report, big):
        view = open_report(report, 390)
        view.page.add_style_tag(content=SHOW_ALL)
        assert view.page.evaluate("document.documentElement.scrollWidth") <= 390
        wide = view.page.evaluate("""Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > 390.5 && e.getClientRects().length)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40))""")
        assert wide == [], report.name
    _screenshot(view.page, tmp_path / "big-report-390px.png")


def test_the_threat_filter_shows_one_severity_at_a_time(mission: Any, open_report: Any) -> None:
    page = open_report(mission.report, 1280).page
    critical = page.locator('#threat-detection .count[data-severity="critical"]')
    warning_group = page.locator('#threat-detection .severity-group[data-severity="warning"]')
    critical.click()
    assert critical.get_attribute("aria-pressed") == "true" and warning_group.is_hidden()
    critical.click()
    assert critical.get_attribute("aria-pressed") == "false" and warning_group.is_visible()


def test_the_planted_secret_is_nowhere_in_the_rendered_page(mission: Any, open_report: Any, width: int) -> None:
    page = open_report(mission.report, width).page
    shown = page.content() + page.locator("body").inner_text()
    assert report_suite.PASSWORD not in shown and report_suite.TOKEN not in shown


def test_a_2000_test_report_opens_in_under_a_second(mission: Any, open_report: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    write_report(report_suite.big_verdict(mission.verdict, 2000), big)
    view = open_report(big, 1280)
    timings = []
    for _ in range(3):  # best of three: other jobs share the machine
        view.page.reload(wait_until="load")
        timings.append(view.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
    print(f"2,000-test report ({big.stat().st_size / 1024:.0f} KiB) loaded in {min(timings):.0f} ms in chromium")
    assert min(timings) < 1000
    assert view.console_errors == [] and view.left_the_file == []


def test_the_report_prints_on_light_paper(mission: Any, open_report: Any, tmp_path: Path) -> None:
    page = open_report(mission.report, 1280).page
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.querySelector('.pulse')).animationName") == "none"
    pdf = tmp_path / "mission-report.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.stat().st_size > 10_000
    _screenshot(page, tmp_path / "mission-report-print.png")
