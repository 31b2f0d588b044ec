"""The Incidents pages in Debian's Chromium: open one from the list, confirm it through the form; axe is quiet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.browser_support import CHROMIUM, needs_chromium, serious_violations
from tests.web.incpages_support import Seeded, seed_incidents
from tests.web.web_support import PASSWORD, WebServer, write_web_workspace

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebServer, Seeded]]:
    folder = write_web_workspace(tmp_path_factory.mktemp("web-incpages-browser"))
    seeded = seed_incidents(folder)
    with WebServer(folder) as running:
        yield running, seeded


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, served: tuple[WebServer, Seeded]) -> Iterator[Page]:
    context = browser.new_context(base_url=served[0].base_url, locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_open_an_incident_and_confirm_it_through_the_form(page: Page, served: tuple[WebServer, Seeded]) -> None:
    seeded = served[1]
    page.goto("/signin")
    page.get_by_label("Name").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Incidents").click()
    expect(page.get_by_role("heading", name="Incidents", level=1)).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_role("link", name=seeded.open_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("menu provider timeout again")
    assert serious_violations(page) == []
    page.get_by_label("Move to").select_option("confirmed")
    page.get_by_label("a real incident").check()
    page.get_by_label("Cause (or why it was a false alarm)").fill("provider timeout")
    page.get_by_role("button", name="Record the stage").click()
    expect(page.get_by_role("status")).to_have_text("The incident moved to its next stage.")
    expect(page.locator("li.incpages-done", has_text="confirmed")).to_contain_text("by user:rita")
    assert serious_violations(page) == []
