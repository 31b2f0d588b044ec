"""What the home and feature pages show and do, over real HTTP: status lights, 24 h totals, diffs, the gate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.web.web_support import WebServer, csrf_of, queue_items, signed_in, write_web_workspace

from andon import deploy
from andon.store.models import utcnow
from andon.store.records import TraceRecord, new_id
from andon.watch.incidents import open_incident
from andon.workspace import Workspace


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_web_workspace(tmp_path_factory.mktemp("web-pages"))
    now = utcnow()
    traces = [
        TraceRecord(
            id=new_id("trc"),
            feature="menu",
            route="ai",
            status=status,
            input_mode="hash",
            input=None,
            input_hash="0" * 64,
            created_at=now - timedelta(minutes=minutes),
            cost=cost,
            currency="KRW",
        )
        for minutes, status, cost in [(5, "ok", 1200.0), (70, "error", None), (130, "ok", 34.0), (60 * 30, "ok", 9e9)]
    ]
    with Workspace.open(folder) as ws:
        ws.store.save_traces(traces)
        open_incident(ws, feature="echo", title="echo answers garbage", actor="tests", detected_at=now)
    queue_items(folder, ["하나", "둘"], feature="menu")
    return folder


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def _row(html: str, feature: str) -> str:
    found = re.search(rf'<tr>\s*<th scope="row"><a href="/features/{feature}">.*?</tr>', html, re.S)
    assert found is not None, f"no row for {feature}"
    return found.group(0)


def test_home_shows_each_features_state_and_its_last_24_hours(server: WebServer, folder: Path) -> None:
    with signed_in(server.base_url, "vera") as client:
        home = client.get("/").text
        ko = client.get("/", headers={"accept-language": "ko-KR,ko;q=0.9"}).text
    menu, echo = _row(home, "menu"), _row(home, "echo")
    assert "light-serving" in menu and "light-shadow" in echo  # echo answers in shadow mode
    assert "menu: 3 calls in 24 hours" in menu and "menu: 1 errors in 24 hours" in menu  # the 30 h old one is out
    assert "₩1,234" in menu  # 1,200 + 34, in the workspace's currency
    assert menu.count("<svg") == 3
    assert re.search(r'class="num">1</td>', echo)  # one open incident
    assert re.search(r'class="num">2</td>', menu)  # two waiting for review (a viewer sees no link)
    assert "Not evaluated" in menu
    assert "서비스 중" in _row(ko, "menu") and "호출 3건" in _row(ko, "menu")
    with Workspace.open(folder) as ws:
        deploy.stop_feature(ws, "menu", reason="too many errors", actor="tests")
    with signed_in(server.base_url, "vera") as client:
        stopped = _row(client.get("/").text, "menu")
    assert "light-stopped" in stopped and "too many errors" in stopped
    with Workspace.open(folder) as ws:
        deploy.resume_feature(ws, "menu", actor="tests")


def test_the_feature_page_shows_versions_with_their_diffs(server: WebServer) -> None:
    with signed_in(server.base_url, "vera") as client:
        page = client.get("/features/menu")
        missing = client.get("/features/nope")
    assert page.status_code == 200
    v2, v1 = page.text.index("<h3>v2 "), page.text.index("<h3>v1 ")
    assert v2 < v1  # newest first
    assert 'class="badge">live<' in page.text[v2:v1]  # v2 is what serves
    assert "1 fields changed" in page.text[v2:v1]
    assert "<dt><code>steps.main.params.temperature</code></dt>" in page.text
    assert '<span class="del">—</span> → <span class="add">0.0</span>' in page.text
    assert missing.status_code == 404


def test_promotion_is_refused_with_the_failing_criteria_and_forced_with_a_reason(
    server: WebServer, folder: Path
) -> None:
    with signed_in(server.base_url, "ada") as admin:
        csrf = csrf_of(admin.get("/features/menu").text)
        refused = admin.post("/features/menu/promote", data={"csrf_token": csrf, "version": "v1"})
        assert refused.status_code == 409
        assert "never evaluated" in refused.text
        no_reason = admin.post("/features/menu/promote", data={"csrf_token": csrf, "version": "v1", "force": "on"})
        assert no_reason.status_code == 400
        forced = admin.post(
            "/features/menu/promote",
            data={"csrf_token": csrf, "version": "v1", "force": "on", "reason": "hotfix, evaluated by hand"},
        )
        assert forced.status_code == 303 and forced.headers["location"] == "/features/menu?done=promoted"
        shown = admin.get(forced.headers["location"]).text
        assert "Promoted: it serves now." in shown and "hotfix, evaluated by hand" in shown
        rolled = admin.post("/features/menu/rollback", data={"csrf_token": csrf, "reason": "back to v2"})
        assert rolled.status_code == 303
    with Workspace.open(folder) as ws:
        history = deploy.history(ws, "menu")
    assert [(r.action, r.version_name, r.actor, r.forced) for r in history[-2:]] == [
        ("promote", "v1", "user:ada", True),
        ("rollback", "v2", "user:ada", False),
    ]


def test_stopping_needs_a_reason(server: WebServer, folder: Path) -> None:
    with signed_in(server.base_url, "rita") as client:
        csrf = csrf_of(client.get("/features/menu").text)
        answer = client.post("/features/menu/stop", data={"csrf_token": csrf, "reason": "  "})
    assert answer.status_code == 400 and "needs a reason" in answer.text
    with Workspace.open(folder) as ws:
        assert not ws.store.feature_stopped("menu")[0]


def test_an_error_from_below_the_page_reads_in_the_pages_language(server: WebServer, folder: Path) -> None:
    """deploy's own refusal (a reason over the limit) reads in Korean on a Korean page, in English on an English one."""
    from andon.deploy._common import MAX_REASON

    too_long = "x" * (MAX_REASON + 1)
    with signed_in(server.base_url, "rita") as client:
        client.cookies.set("andon_lang", "ko")
        csrf = csrf_of(client.get("/features/menu").text)
        korean = client.post("/features/menu/stop", data={"csrf_token": csrf, "reason": too_long})
        client.cookies.set("andon_lang", "en")
        english = client.post("/features/menu/stop", data={"csrf_token": csrf, "reason": too_long})
    assert korean.status_code == 400 and f"최대 {MAX_REASON}자" in korean.text
    assert english.status_code == 400 and f"at most {MAX_REASON}" in english.text
    with Workspace.open(folder) as ws:
        assert not ws.store.feature_stopped("menu")[0]
