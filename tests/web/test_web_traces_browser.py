"""The Traces page in Debian's Chromium: search, open a card, the copy button, and axe finds nothing serious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.browser_support import CHROMIUM, needs_chromium, serious_violations
from tests.web.web_support import PASSWORD, WebServer, write_web_workspace
from tests.web.webtraces_support import make_trace, make_traces, save, with_provenance

from andon.store.models import utcnow

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    folder = write_web_workspace(tmp_path_factory.mktemp("web-traces-browser"))
    now = utcnow()
    cited, output = with_provenance(
        make_trace(now - timedelta(minutes=5), output_text="reject: bulgogi with a phone number"),
        [{"role": "user", "content": [{"type": "text", "text": "불고기 정식 010-0000-0000"}]}],
        {"temperature": 0},
    )
    save(folder, [*make_traces(60, start=now - timedelta(minutes=10)), cited], [output])
    with WebServer(folder) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
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


def test_search_open_a_card_and_copy_its_citation(page: Page) -> None:
    page.goto("/signin")
    page.get_by_label("Name").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Traces").click()
    expect(page.get_by_role("heading", name="Traces", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Older →")).to_be_visible()  # 61 traces: more than a page
    assert serious_violations(page) == []

    page.get_by_label("Text").fill("bulgogi")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.webtraces-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("reject: bulgogi")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trace trc_")
    expect(page.locator("pre.webtraces-message")).to_have_text("불고기 정식 010-0000-0000")
    copy = page.get_by_role("button", name="Copy citation")
    expect(copy).to_be_visible()  # shown only once our script has wired it
    expect(page.get_by_label("Citation in Markdown")).to_have_value(re.compile("불고기 정식"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    expect(page.get_by_role("status")).to_have_text("Citation copied.")
    assert serious_violations(page) == []
