"""End to end in a real browser: Debian's headless Chromium, driven by Playwright, against `tracker serve`.

Skipped when /usr/bin/chromium is absent (`.ci/run` installs it). Playwright's own
browser download is never used.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None, reason="Debian's chromium is not installed"),
]


@pytest.fixture
def browser_page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh, empty profile per test
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            java_script_enabled=False,  # the pages must work without it
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_a_screenshot_shows_the_status_table(served, browser_page, tmp_path):
    page = browser_page
    page.goto(served + "/")
    table = page.locator("table.status-table")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 25
    nissan = table.locator("tr#nissan-solid-state")
    assert nissan.locator(".status").inner_text() == "delayed"
    # Colour carries the status: the badge is drawn, not plain text.
    assert nissan.locator(".status").evaluate("badge => getComputedStyle(badge).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    shot = tmp_path / "status.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a page of rows, not a blank one
    box = table.bounding_box()
    assert box["width"] > 800 and box["height"] > 1000


def test_filters_and_a_commitment_page_work_without_javascript(served, browser_page):
    page = browser_page
    page.goto(served + "/")
    page.select_option("select[name=status]", "on_track")
    page.click("button[type=submit]")
    assert "status=on_track" in page.url
    ids = page.locator("table.status-table tbody tr").evaluate_all("rows => rows.map(row => row.id)")
    assert set(ids) == {"toyota-solid-state", "us-battery-imports-china"}
    page.click("a[href='/commitments/us-battery-imports-china']")
    assert page.url.endswith("/commitments/us-battery-imports-china")
    chart = page.locator("svg.chart")
    assert chart.is_visible() and chart.bounding_box()["height"] > 150
    assert page.locator("svg.chart circle.point").count() == 2 and page.locator("svg.chart circle.baseline").count() == 1
    assert re.search(r"pending\s*→\s*on track", page.locator("ol.timeline").inner_text())
