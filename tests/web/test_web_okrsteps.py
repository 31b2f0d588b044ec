"""OKR pages for reviewers and in Korean: a reviewer checks in a key result (a viewer still cannot), and the
board's step columns are month names of the page's locale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.dates import format_date
from tests.web.web_support import WebServer, csrf_of, signed_in
from tests.web.webokr_support import okr_ids, write_okr_workspace

from andon.okr.board import default_period
from andon.okr.periods import is_year, steps
from andon.web.i18n import LOCALES
from andon.workspace import Workspace

_HEAD = re.compile(r"<thead>(.*?)</thead>", re.S)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_okr_workspace(tmp_path_factory.mktemp("web-okrsteps"))


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def test_a_reviewer_checks_in_and_a_viewer_cannot(server: WebServer, folder: Path) -> None:
    kr = okr_ids(folder)["wait"]
    with signed_in(server.base_url, "rita") as reviewer:
        page = reviewer.get(f"/okrs/{kr}").text
        assert 'action="/okrs/' in page  # the form is offered
        done = reviewer.post(f"/okrs/{kr}/checkins", data={"csrf_token": csrf_of(page), "value": "12.25"})
    assert done.status_code == 303
    with signed_in(server.base_url, "vera") as viewer:
        page = viewer.get(f"/okrs/{kr}").text
        assert "okr-form" not in page
        refused = viewer.post(f"/okrs/{kr}/checkins", data={"csrf_token": csrf_of(page), "value": "13.75"})
    assert refused.status_code == 403
    with Workspace.open(folder) as ws:
        values = {(c.value, c.author) for c in ws.store.checkins(kr)}
    assert (12.25, "user:rita") in values and all(v != 13.75 for v, _ in values)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_board_steps_are_in_the_pages_language(server: WebServer, folder: Path, language: str) -> None:
    with Workspace.open(folder) as ws:
        period = ws.store.period(default_period(ws.store))
    assert period is not None and not is_year(period)
    wanted = [format_date(start.date(), "LLL", locale=LOCALES[language]) for _, start, _ in steps(period)]
    with signed_in(server.base_url, "vera") as client:
        client.cookies.set("andon_lang", language)
        html = client.get("/okrs").text
    board = html.split('class="grid okr-board"')[1]
    head = _HEAD.search(board)
    assert head is not None
    cells = re.findall(r'<th scope="col" class="num">([^<]*)</th>', head.group(1))
    assert all(label in cells for label in wanted), (wanted, cells)
    if language == "ko":
        assert all(label.endswith("월") for label in wanted)
        assert not {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} & set(cells)
