"""The Incidents pages over HTTP: list and detail show the stored stages; the forms move the stored incident."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.incpages_support import XSS, Seeded, seed_incidents
from tests.web.web_support import WebServer, csrf_of, signed_in, write_web_workspace

from andon.watch.incidents import get_incident, timeline
from andon.workspace import Workspace

_ROW = re.compile(r'<a href="/incidents/(inc_[^"]+)"><code>')


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_web_workspace(tmp_path_factory.mktemp("web-incpages"))


@pytest.fixture(scope="module")
def seeded(folder: Path) -> Seeded:
    return seed_incidents(folder)


@pytest.fixture(scope="module")
def server(folder: Path, seeded: Seeded) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def _stages(page: str) -> list[tuple[str, bool]]:
    """(stage label, reached) of the stage list, in order."""
    found = re.findall(r'<li class="incpages-(done|pending)">\s*<strong>([^<]+)</strong>', page)
    return [(label, kind == "done") for kind, label in found]


def test_the_list_shows_open_incidents_first_and_filters(server: WebServer, seeded: Seeded) -> None:
    with signed_in(server.base_url, "vera") as viewer:
        open_page = viewer.get("/incidents")
        assert open_page.status_code == 200
        assert _ROW.findall(open_page.text) == [seeded.fresh_id, seeded.open_id]  # newest first, none closed
        assert "mitigated" in open_page.text and "10 min 0 s" in open_page.text and "2 min 0 s" in open_page.text
        assert _ROW.findall(viewer.get("/incidents", params={"show": "closed"}).text) == [seeded.closed_id]
        every = _ROW.findall(viewer.get("/incidents", params={"show": "all"}).text)
        assert every == [seeded.fresh_id, seeded.open_id, seeded.closed_id]
        assert 'href="/incidents" aria-current="page"' in open_page.text  # the nav line


def test_the_detail_shows_the_stored_stages_in_order(server: WebServer, seeded: Seeded) -> None:
    with signed_in(server.base_url, "vera") as viewer:
        closed = viewer.get(f"/incidents/{seeded.closed_id}").text
        opened = viewer.get(f"/incidents/{seeded.open_id}").text
    assert _stages(closed) == [
        ("detected", True), ("mitigated", True), ("announced", False), ("confirmed", True),
        ("impact assessed", False), ("decided", True), ("closed", True),
    ]  # fmt: skip
    assert "by user:rita" in closed and "provider timeout on long menus" in closed
    assert 'href="https://runbooks.example/menu"' in closed
    assert [reached for _, reached in _stages(opened)] == [True, True, False, False, False, False, False]
    assert "by user:ravi" in opened and "looking at the provider dashboard" in opened
    assert f'href="/incidents/{seeded.closed_id}"' in opened  # similar past incident: same monitor, older
    assert 'href="javascript:' not in opened and "javascript:alert(1)" in opened  # shown, never a link
    assert 'action="/incidents/' not in opened  # a viewer gets no forms


def test_advancing_through_the_form_changes_the_store_and_timeline(folder: Path, server: WebServer,
                                                                   seeded: Seeded) -> None:  # fmt: skip
    url = f"/incidents/{seeded.open_id}"
    with signed_in(server.base_url, "rita") as reviewer:
        csrf = csrf_of(reviewer.get(url).text)
        confirm = {"stage": "confirmed", "verdict": "incident", "cause": "provider timeout", "note": "as last week"}
        answer = reviewer.post(f"{url}/advance", data={"csrf_token": csrf, **confirm})
        assert answer.status_code == 303 and answer.headers["location"] == f"{url}?done=advanced"
        decided = reviewer.post(f"{url}/advance", data={"csrf_token": csrf, "stage": "decided", "decision": "rollback"})
        assert decided.status_code == 303
        noted = reviewer.post(f"{url}/note", data={"csrf_token": csrf, "text": "rolled back to v1"})
        assert noted.status_code == 303
        page = reviewer.get(answer.headers["location"]).text
    with Workspace.open(folder) as ws:
        incident = get_incident(ws, seeded.open_id)
        events = timeline(ws, incident.id)
    assert incident.stage == "decided" and incident.false_alarm is False and incident.decision == "rollback"
    assert incident.actors["confirmed"] == "user:rita" and incident.cause == "provider timeout"
    assert [(e.kind, e.stage, e.actor) for e in events[-3:]] == [
        ("stage", "confirmed", "user:rita"), ("stage", "decided", "user:rita"), ("note", None, "user:rita"),
    ]  # fmt: skip
    assert "as last week" in page and "rolled back to v1" in page and "roll back" in page


def test_a_viewer_is_refused_and_nothing_changes(folder: Path, server: WebServer, seeded: Seeded) -> None:
    url = f"/incidents/{seeded.fresh_id}"
    with Workspace.open(folder) as ws:
        before = get_incident(ws, seeded.fresh_id), timeline(ws, seeded.fresh_id)
    with signed_in(server.base_url, "vera") as viewer:
        csrf = csrf_of(viewer.get(url).text)
        assert viewer.post(f"{url}/advance", data={"csrf_token": csrf, "stage": "mitigated"}).status_code == 403
        assert viewer.post(f"{url}/note", data={"csrf_token": csrf, "text": "hi"}).status_code == 403
    with Workspace.open(folder) as ws:
        assert (get_incident(ws, seeded.fresh_id), timeline(ws, seeded.fresh_id)) == before


def test_a_post_without_csrf_is_refused(folder: Path, server: WebServer, seeded: Seeded) -> None:
    with signed_in(server.base_url, "rita") as reviewer:
        answer = reviewer.post(f"/incidents/{seeded.fresh_id}/advance", data={"stage": "mitigated"})
        assert answer.status_code == 403
        forged = reviewer.post(f"/incidents/{seeded.fresh_id}/note", data={"csrf_token": "x" * 40, "text": "hi"})
        assert forged.status_code == 403
    with Workspace.open(folder) as ws:
        assert get_incident(ws, seeded.fresh_id).stage == "detected"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"stage": "confirmed", "cause": "no verdict given"}, "confirming needs"),
        ({"stage": "decided", "decision": "shrug"}, "shrug"),
        ({"stage": "undone"}, "undone"),
    ],
)
def test_an_invalid_advance_is_400_with_the_message(server: WebServer, seeded: Seeded, data: dict[str, str],
                                                    says: str) -> None:  # fmt: skip
    url = f"/incidents/{seeded.fresh_id}"
    with signed_in(server.base_url, "rita") as reviewer:
        csrf = csrf_of(reviewer.get(url).text)
        answer = reviewer.post(f"{url}/advance", data={"csrf_token": csrf, **data})
    assert answer.status_code == 400
    alert = re.search(r'<div class="notice error" role="alert"><p>(.*?)</p>', answer.text, re.S)
    assert alert is not None and says in html.unescape(alert.group(1)).lower()


def test_a_stage_behind_the_current_one_is_refused(server: WebServer, seeded: Seeded) -> None:
    url = f"/incidents/{seeded.closed_id}"  # closed: nothing may move it any more
    with signed_in(server.base_url, "rita") as reviewer:
        csrf = csrf_of(reviewer.get(url).text)
        answer = reviewer.post(f"{url}/advance", data={"csrf_token": csrf, "stage": "impact_assessed"})
    assert answer.status_code == 400 and 'role="alert"' in answer.text


def test_markup_in_titles_causes_and_notes_is_inert(server: WebServer, seeded: Seeded) -> None:
    url = f"/incidents/{seeded.fresh_id}"
    with signed_in(server.base_url, "ravi") as reviewer:
        csrf = csrf_of(reviewer.get(url).text)
        reviewer.post(f"{url}/note", data={"csrf_token": csrf, "text": XSS})
        refused = reviewer.post(f"{url}/advance", data={"csrf_token": csrf, "stage": "confirmed", "cause": XSS})
        page = reviewer.get(url).text
        listing = reviewer.get("/incidents").text
    for text in (page, listing, refused.text):
        assert "<script>alert" not in text and "<img src=x" not in text
    assert html.escape(XSS, quote=False) in page.replace("&#34;", '"').replace("&#39;", "'")


def test_an_unknown_incident_is_404(server: WebServer) -> None:
    with signed_in(server.base_url, "vera") as viewer:
        assert viewer.get("/incidents/inc_nothing_like_it").status_code == 404


def test_the_pages_read_in_korean(server: WebServer, seeded: Seeded) -> None:
    with signed_in(server.base_url, "vera") as viewer:
        viewer.cookies.set("andon_lang", "ko")
        listing = viewer.get("/incidents").text
        detail = viewer.get(f"/incidents/{seeded.closed_id}").text
    assert '<html lang="ko">' in listing and "진행 중인 장애, 최신순" in listing and ">장애</a>" in listing
    assert "감지까지 걸린 시간" in listing and "10분 0초" in listing
    assert "대기 중" in detail and "영향 파악" in detail and "재개" in detail and "비슷한 과거 장애" in detail
