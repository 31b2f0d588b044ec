"""The OKR pages over HTTP: the board matches okr.board, check-ins through the form, refusals, inert XSS, Korean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.web_support import WebServer, csrf_of, signed_in
from tests.web.webokr_support import XSS_NOTE, XSS_TITLE, XSS_URL, okr_ids, write_okr_workspace

from andon.okr.board import band, build_board, default_period
from andon.web.i18n import Formats
from andon.workspace import Workspace


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_okr_workspace(tmp_path_factory.mktemp("web-okr"))


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def test_board_cells_match_the_board_computation(server: WebServer, folder: Path) -> None:
    with Workspace.open(folder) as ws:
        board = build_board(ws.store, default_period(ws.store))
    fmt = Formats("en")
    with signed_in(server.base_url, "vera") as client:
        html = client.get("/okrs").text
    assert board.rows
    for row in board.rows:
        found = re.search(rf'<tr data-kr="{row.kr_id}">(.*?)</tr>', html, re.S)
        assert found is not None, row.key_result
        cell = re.search(r'okr-achievement band-(\w+)">([^<]*)<', found.group(1))
        assert cell is not None
        assert cell.group(1) == band(row.achievement)
        assert cell.group(2) == fmt.percent(row.achievement)


def test_check_in_through_the_form_is_stored_and_shown(server: WebServer, folder: Path) -> None:
    kr = okr_ids(folder)["wait"]
    with signed_in(server.base_url, "ada") as client:
        token = csrf_of(client.get(f"/okrs/{kr}").text)
        answer = client.post(f"/okrs/{kr}/checkins", data={"csrf_token": token, "value": "12.5", "confidence": "8",
                                                           "note": "night shift added"})  # fmt: skip
        assert answer.status_code == 303
        html = client.get(answer.headers["location"]).text
    assert "Check-in saved." in html and "night shift added" in html
    with Workspace.open(folder) as ws:
        latest = ws.store.latest_checkin(kr)
    assert latest is not None and (latest.value, latest.confidence, latest.author) == (12.5, 8, "user:ada")


def test_a_viewer_and_a_missing_token_are_refused(server: WebServer, folder: Path) -> None:
    kr = okr_ids(folder)["wait"]
    with signed_in(server.base_url, "vera") as client:
        token = csrf_of(client.get(f"/okrs/{kr}").text)
        assert client.post(f"/okrs/{kr}/checkins", data={"csrf_token": token, "value": "3"}).status_code == 403
    with signed_in(server.base_url, "ada") as client:
        assert client.post(f"/okrs/{kr}/checkins", data={"value": "3"}).status_code == 403
    with Workspace.open(folder) as ws:
        assert all(c.value != 3 for c in ws.store.checkins(kr))


def test_an_invalid_value_names_the_field(server: WebServer, folder: Path) -> None:
    kr = okr_ids(folder)["approvals"]
    with signed_in(server.base_url, "ada") as client:
        token = csrf_of(client.get(f"/okrs/{kr}").text)
        answer = client.post(f"/okrs/{kr}/checkins", data={"csrf_token": token, "value": "lots", "confidence": "11"})
    assert answer.status_code == 400
    assert "Value: “lots” is not a number" in answer.text
    assert "Confidence: “11”" in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_stored_markup_is_inert(server: WebServer, folder: Path) -> None:
    ids = okr_ids(folder)
    with signed_in(server.base_url, "vera") as client:
        pages = [client.get("/okrs").text, client.get(f"/okrs/{ids['approvals']}").text,
                 client.get(f"/okrs/{ids['accuracy']}").text]  # fmt: skip
    joined = "".join(pages)
    assert XSS_TITLE not in joined and XSS_NOTE not in joined
    assert "&lt;script&gt;alert(" in joined and "&lt;img src=x" in joined
    assert f'href="{XSS_URL}"' not in joined
    assert "https://jira.example.com/browse/MENU-7" in pages[2]


def test_korean_page_strings(server: WebServer, folder: Path) -> None:
    kr = okr_ids(folder)["accuracy"]
    with signed_in(server.base_url, "vera") as client:
        board = client.get("/okrs", headers={"accept-language": "ko-KR"}).text
        page = client.get(f"/okrs/{kr}", headers={"accept-language": "ko-KR"}).text
    assert "목표와 핵심 결과" in board and "달성률" in board
    assert "연결된 작업 항목" in page and "완료" in page


def test_a_workspace_without_objectives_says_how_to_start(tmp_path: Path) -> None:
    """A new workspace's board page explains okr.yaml instead of answering 404 for a period nobody defined."""
    from tests.web.web_support import write_web_workspace

    with WebServer(write_web_workspace(tmp_path)) as bare, signed_in(bare.base_url, "vera") as client:
        english = client.get("/okrs")
        client.cookies.set("andon_lang", "ko")
        korean = client.get("/okrs")
        named = client.get("/okrs?period=2031Q1")
    assert english.status_code == 200 and "andon okr apply okr.yaml" in english.text
    assert "no objectives yet" in english.text
    assert korean.status_code == 200 and "아직 목표가 없습니다" in korean.text
    assert named.status_code == 404  # a period asked for by name still has to exist
