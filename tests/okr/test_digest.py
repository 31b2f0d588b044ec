"""The weekly review digest: progress and its change since last week, at-risk and stale key results, work updated
this week; sent to a loopback webhook once per team and week however often it runs; a model's summary (the
loopback OpenAI-compatible stub) stored as an output that `andon cite` prints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted, StubServer
from tests.okr.report_support import NOW, andon, days, hook, open_okr_workspace, seed, today_workspace
from tests.support.receivers import HttpReceiver

from andon.citation import citation_markdown
from andon.errors import ConfigError, NotFoundError
from andon.okr.digest import build_digests, digest, digest_message, iso_week
from andon.store.okr import KeyResult, WorkItem
from andon.workspace import Workspace

SUMMARY = "Review wait fell by a third; approval share has not moved for ten days."


def _link_work(ws: Workspace, krs: dict[str, KeyResult]) -> None:
    items = [
        WorkItem(source="jira", external_id="MENU-12", title="Auto-approve clear photos", status="Done", done=True,
                 updated_at=NOW - days(2)),
        WorkItem(source="github", external_id="acme/menu#7", title="Queue by wait time", status="open",
                 updated_at=NOW - days(6), kind="pull_request"),
        WorkItem(source="jira", external_id="MENU-3", title="Old ticket", status="Done", done=True,
                 updated_at=NOW - days(20)),
    ]  # fmt: skip
    ws.store.upsert_work_items(items)
    stored = {w.external_id: w.id for w in ws.store.work_items()}
    ws.store.link_work(stored["MENU-12"], krs["auto"].id, "measures")
    ws.store.link_work(stored["acme/menu#7"], krs["wait"].id, "contributes")
    ws.store.link_work(stored["MENU-3"], krs["auto"].id, "measures")


def test_progress_change_risk_staleness_and_work_of_the_week(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url) as ws:
        krs = seed(ws)
        _link_work(ws, krs)
        (d,) = build_digests(ws, now=NOW)
        assert (d.team.id, d.period.id, d.week) == ("menu-ai", "2026Q4", "2026-W49")
        lines = {ln.row.kr_id: ln for ln in d.lines}
        auto, wait, docs = lines[krs["auto"].id], lines[krs["wait"].id], lines[krs["docs"].id]
        # auto: 52 now and a week ago on 40 → 70: 12/30 = 0.4, unchanged.
        assert (auto.row.current, auto.progress, auto.change) == (52.0, pytest.approx(0.4), pytest.approx(0.0))
        # wait falls 90 → 30: 50 now (40/60), 70 a week ago (20/60).
        assert wait.progress == pytest.approx(2 / 3) and wait.before == pytest.approx(1 / 3)
        assert docs.row.current is None and docs.progress is None and docs.change is None
        # The team: the mean of the three (a key result without a value counts 0), now and a week ago.
        assert d.progress == pytest.approx((0.4 + 2 / 3) / 3) and d.before == pytest.approx((0.4 + 1 / 3) / 3)
        # 62.4 of 92 days gone: auto (0.4) lags by more than 0.25, wait is on pace, docs has no data (it is stale).
        assert (auto.health, wait.health, docs.health) == ("off_track", "on_track", "no_data")
        assert [ln.row.kr_id for ln in d.at_risk] == [krs["auto"].id]
        assert {ln.row.kr_id: ln.stale_days for ln in d.stale} == {krs["auto"].id: 10, krs["docs"].id: 30}
        work = [(w.item.external_id, w.kind) for w in d.work]
        assert work == [("MENU-12", "measures"), ("acme/menu#7", "contributes")]  # newest first; MENU-3 is older
        message = digest_message(d, "en")
        assert message.title == "Weekly OKR review: Menu Ai · 2026-W49"
        assert dict(message.fields)["Progress (since last week)"] == "36% (+11 pp)"  # (1/3) / 3 gained
        assert "• Median review wait — 67% (+33 pp) · on track · lee@example.com" in message.text
        assert "MENU-12 Auto-approve clear photos (done) → Automatic approval share" in message.text
        assert "Old ticket" not in message.text
        assert "주간 OKR 리뷰" in digest_message(d, "ko").title


def test_a_team_filter_and_an_unknown_team(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url) as ws:
        seed(ws)
        seed(ws, team="search")
        assert [d.team.id for d in build_digests(ws, now=NOW)] == ["menu-ai", "search"]
        assert [d.team.id for d in build_digests(ws, now=NOW, team="search")] == ["search"]
        with pytest.raises(NotFoundError) as caught:
            build_digests(ws, now=NOW, team="payments")
        assert "payments" in caught.value.message and "menu-ai" in str(caught.value)


def test_the_digest_reaches_the_webhook_once_per_team_and_week(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as receiver:
        with open_okr_workspace(tmp_path / "ws", database_url, notifiers=hook(receiver.url)) as ws:
            seed(ws)
            seed(ws, team="search")
            first = asyncio.run(digest(ws, now=NOW, send=True))
            assert (first.queued, first.delivered, first.already_sent) == (2, 2, [])
            again = asyncio.run(digest(ws, now=NOW + days(1), send=True))  # the same ISO week
            assert (again.queued, again.delivered, len(again.already_sent)) == (0, 0, 2)
            assert len(receiver.requests) == 2
            body = receiver.requests[0].json()
            assert receiver.requests[0].headers["x-andon-event"] == "okr.digest"
            assert body["subject"] in ("team:menu-ai", "team:search") and body["data"]["week"] == "2026-W49"
            assert {kr["health"] for kr in body["data"]["key_results"]} == {"off_track", "on_track", "no_data"}
            later = asyncio.run(digest(ws, now=NOW + days(7), send=True))  # next week
            assert later.delivered == 2 and iso_week(NOW + days(7)) == "2026-W50"
        assert len(receiver.requests) == 4


def test_printing_sends_nothing_and_sending_needs_a_notifier(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url) as ws:
        seed(ws)
        printed = asyncio.run(digest(ws, now=NOW))
        assert not printed.sent and len(printed.digests) == 1 and ws.store.outbox() == []
        with pytest.raises(ConfigError) as caught:
            asyncio.run(digest(ws, now=NOW, send=True))
        assert caught.value.hint


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(reply=SUMMARY) as server:
        yield server


def _summary_options(base_url: str, notifiers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "providers": {"stub": {"type": "openai", "base_url": base_url, "api_key": "sk-test", "model": "stub-model",
                               "max_retries": 1, "backoff_base_s": 0}},
        "features": {"okr-summary": {"versions": {"v1": {
            "provider": "stub", "system": "You write short OKR review summaries.",
            "prompt": "Team {{ team }}, week {{ week }}:\n{{ digest }}",
        }}}},
        "okr": {"digest": {"summary_feature": "okr-summary", "summary_version": "v1"}},
        "notifiers": notifiers or {},
    }  # fmt: skip


async def test_the_models_summary_is_cited_and_sent_once(tmp_path: Path, database_url: str, stub: StubServer) -> None:
    with HttpReceiver() as receiver:
        ws = open_okr_workspace(tmp_path / "ws", database_url, **_summary_options(stub.base_url, hook(receiver.url)))
        try:
            await asyncio.to_thread(seed, ws)
            result = await digest(ws, now=NOW, send=True)
            (d,) = result.digests
            assert d.summary is not None and d.summary.text == SUMMARY and d.summary_error is None
            stored = ws.store.get_output(d.summary.output_id)
            assert stored.output_text == SUMMARY and stored.context["okr_digest"] == {
                "team": "menu-ai", "period": "2026Q4", "week": "2026-W49",
            }  # fmt: skip
            prompt = stored.messages[-1]["content"][0]["text"]
            assert prompt.startswith("Team Menu Ai, week 2026-W49:") and "Median review wait" in prompt
            card = citation_markdown(stored)
            assert SUMMARY in card and "stub-model" in card and stored.version_id in card
            body = receiver.requests[0].json()
            assert body["data"]["summary"]["output_id"] == stored.id
            assert SUMMARY in body["text"] and f"andon cite {stored.id}" in body["text"]
            calls = len(stub.received)
            again = await digest(ws, now=NOW + days(1), send=True)
            assert len(again.already_sent) == 1 and len(stub.received) == calls  # no second model call
            assert len(receiver.requests) == 1
        finally:
            await ws.aclose_providers()
            ws.close()


async def test_a_failed_summary_still_sends_the_review(tmp_path: Path, database_url: str, stub: StubServer) -> None:
    stub.program(Scripted(status=400))
    with HttpReceiver() as receiver:
        ws = open_okr_workspace(tmp_path / "ws", database_url, **_summary_options(stub.base_url, hook(receiver.url)))
        try:
            await asyncio.to_thread(seed, ws)
            (d,) = (await digest(ws, now=NOW, send=True)).digests
            assert d.summary is None and d.summary_error
            assert len(receiver.requests) == 1 and receiver.requests[0].json()["data"]["summary"] is None
        finally:
            await ws.aclose_providers()
            ws.close()


async def test_no_summary_skips_the_model(tmp_path: Path, database_url: str, stub: StubServer) -> None:
    ws = open_okr_workspace(tmp_path / "ws", database_url, **_summary_options(stub.base_url))
    try:
        await asyncio.to_thread(seed, ws)
        (d,) = (await digest(ws, now=NOW, summary=False)).digests
        assert d.summary is None and stub.received == []
    finally:
        await ws.aclose_providers()
        ws.close()


def test_a_summary_feature_that_does_not_exist_names_the_field(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url, okr={"digest": {"summary_feature": "nope"}}) as ws:
        seed(ws)
        with pytest.raises(ConfigError) as caught:
            asyncio.run(digest(ws, now=NOW))
        assert caught.value.where == "andon.yaml: okr.digest.summary_feature"


def test_andon_okr_digest_prints_then_sends_once(tmp_path: Path) -> None:
    with HttpReceiver() as receiver:
        ws, _ = today_workspace(tmp_path / "ws", notifiers=hook(receiver.url))
        ws.close()
        printed = andon("okr", "digest", cwd=tmp_path / "ws")
        assert printed.returncode == 0, printed.stderr
        assert "Weekly OKR review: Menu Ai" in printed.stdout and "Median review wait" in printed.stdout
        assert receiver.requests == []
        for _ in range(2):
            sent = andon("okr", "digest", "--send", "--team", "menu-ai", cwd=tmp_path / "ws")
            assert sent.returncode == 0, sent.stderr
        assert "was sent already" in sent.stdout and len(receiver.requests) == 1


async def test_andon_cite_prints_the_summarys_prompt(tmp_path: Path, stub: StubServer) -> None:
    ws = open_okr_workspace(tmp_path / "ws", None, **_summary_options(stub.base_url))  # own SQLite, for `andon cite`
    try:
        await asyncio.to_thread(seed, ws)
        (d,) = (await digest(ws, now=NOW)).digests
    finally:
        await ws.aclose_providers()
        ws.close()
    assert d.summary is not None
    card = await asyncio.to_thread(andon, "cite", d.summary.output_id, cwd=tmp_path / "ws")
    assert card.returncode == 0, card.stderr
    assert SUMMARY in card.stdout and "Team Menu Ai, week 2026-W49:" in card.stdout and "stub-model" in card.stdout
