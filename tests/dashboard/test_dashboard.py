"""The dashboard in headless Chromium (Debian's package, driven by Playwright).

The page is served by a real uvicorn server over the seeded desk; the test waits on
conditions (never a fixed sleep) for the positions, the PnL chart and the live update
that follows a new fill recorded by another connection, as the bot would record it.
Screenshots go to test-output/ for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hedgebot.domain import Direction
from tests.api.conftest import TestClient
from tests.api.desk import START, Desk
from tests.api.server import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make chromium`"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_the_dashboard_shows_positions_and_pnl_and_follows_new_fills(
    browser: object, make_client: Callable[..., TestClient], desk_path: Path
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    app = make_client().app
    app.state.hedgebot.stream_poll_seconds = 0.1
    OUTPUT.mkdir(exist_ok=True)
    errors: list[str] = []
    with serving(app) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url + "/")

        positions = page.locator("#positions tbody tr")
        expect(positions).to_have_count(3, timeout=WAIT_MS)
        tsla = page.locator('#positions tr[data-symbol="TSLA"] td')
        expect(tsla.nth(1)).to_have_text("-2.5")
        expect(tsla.nth(5)).to_have_text("-625.00")
        expect(tsla.nth(8)).to_have_text("suspended (3 failures)")
        expect(page.locator('#positions tr[data-symbol="NVDA"] td').nth(7)).to_have_text(
            "#6 SELL 1"
        )

        aapl_line = page.locator('#pnl-chart path.series[data-symbol="AAPL"]')
        expect(aapl_line).to_have_count(1, timeout=WAIT_MS)
        assert (aapl_line.get_attribute("d") or "").count("V") == 4  # four steps after the start
        expect(page.locator('#pnl-legend span[data-symbol="AAPL"]')).to_have_text("AAPL $1.40")
        expect(page.locator("#pnl-total")).to_have_text("Total realised: $1.40")
        expect(page.locator("#trades tbody tr")).to_have_count(5)
        expect(page.locator('#order-counts span[data-status="FAILED"]')).to_have_text("FAILED 3")
        expect(page.locator("#live")).to_have_text("live", timeout=WAIT_MS)
        expect(page.locator("#health")).to_have_text("ready")
        page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)

        writer = Desk.open(desk_path, start=START + timedelta(hours=1))
        try:
            writer.fill("tMSFT", "2", Direction.BUY, "410")
            expect(page.locator("#trades tbody tr").first.locator("td").nth(1)).to_have_text(
                "tMSFT", timeout=WAIT_MS
            )
            writer.acknowledge()  # the position follows in its own commit
        finally:
            writer.close()

        msft = page.locator('#positions tr[data-symbol="MSFT"] td')
        expect(msft.nth(1)).to_have_text("2", timeout=WAIT_MS)
        expect(msft.nth(5)).to_have_text("820.00")
        expect(msft.nth(7)).to_have_text("#7 SELL 2")
        expect(page.locator('#pnl-chart path.series[data-symbol="MSFT"]')).to_have_count(1)
        page.screenshot(path=str(OUTPUT / "dashboard-after-fill.png"), full_page=True)
        page.close()
    assert errors == []
