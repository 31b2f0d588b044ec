"""POST /v1/okr/checkins and GET /v1/okr/board through the real app: scopes, batches all-or-none, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.okr.okr_support import write_workspace

from andon.gateway.app import create_app
from andon.gateway.auth import create_key
from andon.okr import definitions
from andon.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    root = write_workspace(tmp_path / "ws")
    with Workspace.open(root, database_url=database_url) as opened:
        definitions.apply(opened.store, definitions.plan(opened.store, root / "okr.yaml"), actor="jiwoo")
        yield opened


@pytest.fixture
async def http(ws: Workspace) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    keys = {scope: create_key(ws.store, f"{scope}-bot", [scope], None)[1] for scope in ("okr", "invoke", "admin")}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(ws)), base_url="http://gw") as client:
        yield client, keys


def auth(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


async def test_a_batch_is_stored_with_source_api_and_the_key_as_author(
    ws: Workspace, http: tuple[httpx.AsyncClient, dict[str, str]]
) -> None:
    client, keys = http
    items = [
        {"key_result": "menu-auto.kr1", "value": 55, "confidence": 8, "comment": "주간 점검"},
        {"key_result": "menu-wait", "value": 12.5, "author": "hana", "at": "2026-11-02T09:00:00+09:00"},
        {"key_result": "menu-wait", "value": 11, "step": "2026-11-03"},
    ]
    answer = await client.post("/v1/okr/checkins", json={"checkins": items}, headers=auth(keys["okr"]))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["accepted"], body["skipped"]) == (3, 0)
    kr = ws.store.key_result("menu-auto.kr1")
    (chk,) = ws.store.checkins(kr.id)
    assert (chk.value, chk.confidence, chk.author, chk.source, chk.comment) == (55.0, 8, "okr-bot", "api", "주간 점검")
    wait = ws.store.checkins(ws.store.key_result("menu-wait").id)
    assert wait[0].created_at == datetime(2026, 11, 2, 0, 0, tzinfo=UTC) and wait[0].author == "hana"
    # The same step again is skipped, not doubled.
    again = await client.post("/v1/okr/checkins", json={"checkins": items[2:]}, headers=auth(keys["admin"]))
    assert again.status_code == 201 and again.json()["skipped"] == 1
    assert len(ws.store.checkins(ws.store.key_result("menu-wait").id)) == 2


@pytest.mark.parametrize(
    ("item", "status", "code", "text"),
    [
        ({"key_result": "nope", "value": 1}, 404, "not_found", "no key result 'nope'"),
        ({"key_result": "menu-wait", "value": "many"}, 400, "invalid_request", ""),
        ({"key_result": "menu-wait", "value": 1, "confidence": 0}, 400, "invalid_request", ""),
        ({"key_result": "menu-wait", "value": 1, "extra": True}, 400, "invalid_request", ""),
    ],
)
async def test_one_bad_item_refuses_the_whole_batch(
    ws: Workspace, http: tuple[httpx.AsyncClient, dict[str, str]], item: dict[str, Any], status: int, code: str,
    text: str,
) -> None:  # fmt: skip
    client, keys = http
    batch = [{"key_result": "menu-auto.kr1", "value": 50}, item]
    answer = await client.post("/v1/okr/checkins", json={"checkins": batch}, headers=auth(keys["okr"]))
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code and text in answer.json()["error"]["message"]
    assert ws.store.checkins(ws.store.key_result("menu-auto.kr1").id) == []


async def test_a_closed_period_is_a_conflict_and_a_key_needs_the_okr_scope(
    ws: Workspace, http: tuple[httpx.AsyncClient, dict[str, str]]
) -> None:
    client, keys = http
    one = {"checkins": [{"key_result": "menu-wait", "value": 9}]}
    denied = await client.post("/v1/okr/checkins", json=one, headers=auth(keys["invoke"]))
    assert denied.status_code == 403
    anonymous = await client.post("/v1/okr/checkins", json=one)
    assert anonymous.status_code == 401
    ws.store.close_period("2026Q4", datetime(2026, 12, 31, tzinfo=UTC))
    closed = await client.post("/v1/okr/checkins", json=one, headers=auth(keys["okr"]))
    assert closed.status_code == 409 and "2026Q4 is closed" in closed.json()["error"]["message"]


async def test_the_board_answers_json(ws: Workspace, http: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, keys = http
    await client.post(
        "/v1/okr/checkins", json={"checkins": [{"key_result": "menu-auto.kr1", "value": 70}]}, headers=auth(keys["okr"])
    )
    answer = await client.get("/v1/okr/board", params={"period": "2026Q4"}, headers=auth(keys["okr"]))
    assert answer.status_code == 200, answer.text
    board = answer.json()
    assert board["period"] == "2026Q4" and board["teams"] == ["Menu AI"]
    assert [r["achievement"] for r in board["rows"]] == [1.0, None, None]
    missing = await client.get("/v1/okr/board", params={"period": "1999Q1"}, headers=auth(keys["okr"]))
    assert missing.status_code == 404
    team = await client.get("/v1/okr/board", params={"period": "2026Q4", "team": "x"}, headers=auth(keys["okr"]))
    assert team.status_code == 404
