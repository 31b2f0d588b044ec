"""The dashboard in a real browser: Debian's Chromium driven by Playwright against the app on loopback.

One browser for the module; each test has its own context (cookies). axe-core comes from the
axe-playwright-python package (its axe.min.js), never from a network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.browser_support import CHROMIUM, needs_chromium, serious_violations
from tests.web.web_support import PASSWORD, WebServer, queue_items, write_web_workspace

from andon.web.render import WebSettings
from andon.web.users import Lockout
from andon.workspace import Workspace

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_web_workspace(tmp_path_factory.mktemp("web-browser"))


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    # A long undo window: the test takes a decision back, then sends it at once with a second Enter.
    settings = WebSettings(lockout=Lockout(limit=3, duration=timedelta(minutes=5)), undo_ms=60_000)
    with WebServer(folder, settings) as running:
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


def _sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    page.goto("/signin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_signing_in_fails_with_a_wrong_password_then_succeeds(page: Page) -> None:
    _sign_in(page, "rita", "not it")
    expect(page.get_by_role("alert")).to_contain_text("The name or the password is wrong")
    _sign_in(page, "rita")
    expect(page.get_by_role("heading", name="Features")).to_be_visible()
    expect(page.get_by_role("link", name="menu")).to_be_visible()


def test_repeated_failures_lock_the_account(page: Page, server: WebServer) -> None:
    for _ in range(server.settings.lockout.limit):
        _sign_in(page, "lena", "guessing")
    expect(page.get_by_role("alert")).to_contain_text("locked")
    _sign_in(page, "lena")
    expect(page.get_by_role("alert")).to_contain_text("locked")


def test_stop_and_resume_a_feature(page: Page, folder: Path) -> None:
    _sign_in(page, "rita")
    page.get_by_role("link", name="menu").click()
    page.get_by_label("What is wrong").fill("menus with phone numbers get through")
    page.get_by_role("button", name="Stop the feature").click()
    expect(page.get_by_role("status")).to_contain_text("menu is stopped")
    expect(page.locator(".light-stopped").first).to_be_visible()
    with Workspace.open(folder) as ws:
        assert ws.store.feature_stopped("menu") == (True, "menus with phone numbers get through")
    page.get_by_label("Why it is safe again").fill("fixed the rule")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("served by the AI again")
    with Workspace.open(folder) as ws:
        latest = ws.store.latest_feature_event("menu", ("stopped", "resumed"))
    assert latest is not None and latest.kind == "resumed" and latest.actor == "user:rita"


def test_decide_a_review_item_with_the_keyboard_and_undo(page: Page, folder: Path) -> None:
    [item_id] = queue_items(folder, ["치킨 주문은 카톡 링크로"], feature="menu")
    _sign_in(page, "ravi")
    page.goto("/review?feature=menu")
    expect(page.locator("#item-h")).to_contain_text(item_id)
    page.keyboard.press("2")  # the second decision: reject
    expect(page.locator("#label-2")).to_be_checked()
    page.keyboard.press("Tab")  # from the decision's radio group to the first reason code
    page.keyboard.press("Tab")
    expect(page.locator("#code-2")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.locator("#undo-bar")).to_be_visible()
    page.keyboard.press("u")  # taken back before it was sent
    expect(page.locator("#undo-bar")).to_be_hidden()
    with Workspace.open(folder) as ws:
        assert ws.store.get_review_item(item_id)["status"] == "pending"
    page.keyboard.press("Enter")
    expect(page.locator("#undo-bar")).to_be_visible()
    page.keyboard.press("Enter")  # send now
    expect(page.get_by_role("status").filter(has_text="Decision saved")).to_be_visible()
    with Workspace.open(folder) as ws:
        item = ws.store.get_review_item(item_id)
    assert item["status"] == "decided" and item["decided_by"] == "user:ravi" and item["label"] == "reject"


def test_switch_to_korean(page: Page) -> None:
    _sign_in(page, "vera")
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", name="기능")).to_be_visible()
    expect(page.get_by_role("button", name="로그아웃")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "ko"
    page.goto("/signin")  # signed in already: straight back home, still in Korean (the cookie)
    expect(page.get_by_role("columnheader", name="서비스 중인 버전")).to_be_visible()


def test_korean_from_the_browsers_language(browser: Browser, server: WebServer) -> None:
    context = browser.new_context(base_url=server.base_url, locale="ko-KR")
    try:
        page = context.new_page()
        page.goto("/signin")
        expect(page.get_by_role("heading", name="로그인")).to_be_visible()
    finally:
        context.close()


def test_pages_have_no_serious_accessibility_violations(page: Page, folder: Path) -> None:
    queue_items(folder, ["떡볶이 010-2345-6789"], feature="menu")
    page.goto("/signin")
    assert serious_violations(page) == []
    _sign_in(page, "ada")
    for path in ("/", "/features/menu", "/review?feature=menu", "/admin/keys"):
        page.goto(path)
        assert serious_violations(page) == [], path
