"""The OKR pages in Debian's Chromium: check in through the form, read it on the page, Korean, and axe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.browser_support import CHROMIUM, needs_chromium
from tests.web.web_support import PASSWORD, WebServer
from tests.web.webokr_support import okr_ids, write_okr_workspace

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_okr_workspace(tmp_path_factory.mktemp("web-okr-browser"))


@pytest.fixture(scope="module")
def page(folder: Path) -> Iterator[Page]:
    with WebServer(folder) as server, sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(base_url=server.base_url, locale="en-US")
        context.set_default_timeout(10_000)
        signed_in = context.new_page()
        signed_in.goto("/signin")
        signed_in.get_by_label("Name").fill("ada")
        signed_in.get_by_label("Password").fill(PASSWORD)
        signed_in.get_by_role("button", name="Sign in").click()
        expect(signed_in.get_by_role("link", name="OKRs")).to_be_visible()
        yield signed_in
        browser.close()


def test_check_in_a_key_result_then_read_it_in_korean(page: Page, folder: Path) -> None:
    kr = okr_ids(folder)["wait"]
    page.goto("/")
    page.get_by_role("link", name="OKRs").click()
    page.get_by_role("link", name="Median review wait").click()
    page.get_by_label("Value (min)").fill("9")
    page.get_by_label("Confidence").select_option("7")
    page.get_by_label("Note").fill("second reviewer on nights")
    page.get_by_role("button", name="Save the check-in").click()
    expect(page.get_by_role("status")).to_contain_text("Check-in saved.")
    expect(page.locator(".okr-checkin").first).to_contain_text("second reviewer on nights")
    assert page.url.endswith(f"/okrs/{kr}?done=checked_in")
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", name="체크인", exact=True).first).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "ko"


def test_okr_pages_have_no_serious_accessibility_violations(page: Page, folder: Path) -> None:
    ids = okr_ids(folder)
    for path in ("/okrs", f"/okrs/{ids['approvals']}", f"/okrs/{ids['accuracy']}"):
        page.goto(path)
        violations = Axe().run(page).response["violations"]
        serious = [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], path
