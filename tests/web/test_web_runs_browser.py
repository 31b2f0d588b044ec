"""The run and comparison pages in Debian's Chromium: what a reviewer sees, and axe-core finds nothing serious."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.browser_support import CHROMIUM, needs_chromium, serious_violations
from tests.web.web_support import PASSWORD, WebServer
from tests.web.webruns_support import evaluate_menu, passes, synthetic_run, write_runs_workspace

pytestmark = needs_chromium
N = 120


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebServer, str, str]]:
    folder = write_runs_workspace(tmp_path_factory.mktemp("web-runs-browser") / "ws")
    evaluated, built = evaluate_menu(folder), synthetic_run(folder, cases=N)
    with WebServer(folder) as server:
        yield server, evaluated, built


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, runs: tuple[WebServer, str, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=runs[0].base_url, locale="en-US")
    context.set_default_timeout(10_000)
    opened = context.new_page()
    opened.goto("/signin")
    opened.get_by_label("Name").fill("vera")
    opened.get_by_label("Password").fill(PASSWORD)
    opened.get_by_role("button", name="Sign in").click()
    expect(opened.get_by_role("heading", name="Features")).to_be_visible()
    yield opened
    context.close()


def test_open_a_run_filter_it_and_compare_its_versions(page: Page, runs: tuple[WebServer, str, str]) -> None:
    _server, evaluated, built = runs
    page.goto("/features/menu")
    page.get_by_role("link", name=evaluated).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Run {evaluated}")
    summary = page.locator("table.wr-summary")
    expect(summary.locator('tr[data-metric="pass_rate"] .wr-value').first).to_have_text("75%")
    expect(page.locator("table.wr-criteria").first).to_contain_text("accuracy >= 0.5")
    photo = page.get_by_role("img", name="Image photo of case photo").first
    expect(photo).to_be_visible()
    photo.scroll_into_view_if_needed()
    # The thumbnail loads under the page's Content-Security-Policy (lazily: wait for it).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    # Failed only, for v1: the two cases the rule gets wrong.
    page.get_by_label("Version").select_option("v1")
    page.get_by_label("Failed only").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr.wr-cell")).to_have_count(2)
    expect(page.locator("tr.wr-cell").first).to_contain_text("kimchi")
    assert serious_violations(page) == []

    page.goto(f"/runs/{built}")
    page.get_by_role("link", name="Compare its versions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare runs")
    flips = [i for i in range(N) if passes(0, i) != passes(1, i)]
    expect(page.get_by_role("heading", name=f"Flipped cases ({len(flips)})")).to_be_visible()
    first_broken = min(i for i in flips if not passes(1, i))
    first = page.locator("tr.wr-flip").first
    expect(first).to_contain_text(f"c{first_broken:06d}")
    expect(first).to_contain_text("Broken")
    expect(page.get_by_role("status")).to_contain_text("v2")
    assert serious_violations(page) == []
