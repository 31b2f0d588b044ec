"""The Monitors pages in Chromium: from the nav to a monitor's chart, no CSP errors, axe finds nothing serious."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.browser_support import CHROMIUM, needs_chromium, serious_violations
from tests.web.monpages_support import run_watcher, write_monitor_workspace
from tests.web.web_support import PASSWORD, WebServer

from andon.store.models import utcnow

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    folder = write_monitor_workspace(tmp_path_factory.mktemp("web-monpages-browser"))
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    run_watcher(folder, {"menu_errors": [0.1, 0.3, 0.7, 0.1]}, start=start)
    with WebServer(folder) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server: WebServer) -> Iterator[Browser]:  # after the server: the watcher's seeding runs its own loop
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: WebServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.base_url, locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_from_the_list_to_a_monitors_chart(page: Page) -> None:
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto("/signin")
    page.get_by_label("Name").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Monitors").click()
    expect(page.get_by_role("heading", name="Monitors", level=1)).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_role("link", name="menu_errors").click()
    expect(page.get_by_role("heading", name="menu_errors", level=1)).to_be_visible()
    chart = page.get_by_role(
        "img", name="menu_errors: errors over the last 24 hours, 4 points, 2 warn or fail points marked"
    )
    expect(chart).to_be_visible()
    expect(page.locator("circle.mark")).to_have_count(2)
    assert serious_violations(page) == []
    page.get_by_role("link", name="last 168 h").click()
    expect(page.get_by_role("heading", name="Points of the last 168 hours")).to_be_visible()
    assert refused == []
