"""Check-in reminders: stale key results found, delivered through the outbox to a loopback webhook exactly once a
day however often the command runs, kept until a receiver that was down comes back, printed without notifiers."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest
from tests.okr.report_support import NOW, Q4, SECRET, andon, days, hook, open_okr_workspace, seed, today_workspace
from tests.support.receivers import HttpReceiver, free_port

from andon.errors import ConfigError
from andon.okr.reminders import find_stale, remind
from andon.store.okr import Period
from andon.watch.notify.webhook import verify_signature


def test_stale_key_results_are_the_ones_without_a_recent_checkin(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url) as ws:
        krs = seed(ws)
        stale = find_stale(ws, days=7, now=NOW)
        assert [(s.key_result.id, s.days) for s in stale] == [(krs["docs"].id, 30), (krs["auto"].id, 10)]
        assert stale[1].last_value == 52.0 and stale[0].last_at is None
        assert [s.key_result.id for s in find_stale(ws, days=11, now=NOW)] == [krs["docs"].id]
        # Two days later the wait KR (checked in 2 days ago) is still fresh at 7 days, stale at 3.
        assert krs["wait"].id in {s.key_result.id for s in find_stale(ws, days=3, now=NOW + days(2))}


def test_closed_and_future_periods_remind_nobody(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url) as ws:
        seed(ws)
        seed(ws, team="next", period=Period(id="2027Q1", starts=date(2027, 1, 1), ends=date(2027, 3, 31)))
        assert {s.period.id for s in find_stale(ws, days=7, now=NOW)} == {"2026Q4"}
        ws.store.close_period(Q4.id, NOW)
        assert find_stale(ws, days=7, now=NOW) == []


def test_reminders_reach_the_webhook_once_per_key_result_and_day(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as receiver:
        notifiers = hook(f"{receiver.url}/okr")
        with open_okr_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
            krs = seed(ws)
            first = asyncio.run(remind(ws, now=NOW))
            assert (first.queued, first.delivered) == (2, 2)
            again = asyncio.run(remind(ws, now=NOW + days(0.4)))  # the same day: nothing new
            assert (again.queued, again.delivered) == (0, 0) and len(again.stale) == 2
            assert len(receiver.requests) == 2
            bodies = {r.json()["subject"]: r for r in receiver.requests}
            auto = bodies[krs["auto"].id]
            assert verify_signature(SECRET, auto.headers["x-andon-timestamp"], auto.body,
                                    auto.headers["x-andon-signature"])  # fmt: skip
            body = auto.json()
            assert auto.headers["x-andon-event"] == "okr.reminder" and body["type"] == "andon.message"
            assert body["to"] == ["kim"] and body["data"]["days_without_checkin"] == 10
            assert body["data"]["last_value"] == 52.0 and "Automatic approval share" in body["title"]
            assert auto.headers["x-andon-delivery"] == f"{krs['auto'].id}:remind:2026-12-02:hook"
            # The next day is a new reminder.
            later = asyncio.run(remind(ws, now=NOW + days(1)))
            assert (later.queued, later.delivered) == (2, 2) and len(receiver.requests) == 4


def test_a_reminder_is_kept_while_the_receiver_is_down(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with open_okr_workspace(tmp_path / "ws", database_url, notifiers=hook(f"http://127.0.0.1:{port}/okr")) as ws:
        seed(ws)
        down = asyncio.run(remind(ws, now=NOW))
        assert (down.queued, down.delivered) == (2, 0)
        rows = ws.store.outbox(status="pending")
        assert len(rows) == 2 and all(r.attempts == 1 for r in rows)
        with HttpReceiver(port) as receiver:
            up = asyncio.run(remind(ws, now=NOW + days(0.1)))  # after the backoff: delivered, not queued again
            assert (up.queued, up.delivered) == (0, 2)
            assert asyncio.run(remind(ws, now=NOW + days(0.2))).delivered == 0
        assert len(receiver.requests) == 2
        assert {r.status for r in ws.store.outbox()} == {"delivered"}


def test_dry_run_sends_nothing(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as receiver:
        with open_okr_workspace(tmp_path / "ws", database_url, notifiers=hook(receiver.url)) as ws:
            seed(ws)
            dry = asyncio.run(remind(ws, now=NOW, dry_run=True))
            assert len(dry.stale) == 2 and dry.queued == 0 and ws.store.outbox() == []
        assert receiver.requests == []


def test_without_notifiers_reminders_are_only_listed(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "bare", database_url) as ws:
        seed(ws)
        printed = asyncio.run(remind(ws, now=NOW, days=3))
        assert printed.notifiers == [] and len(printed.stale) == 2 and ws.store.outbox() == []


def test_okr_notifiers_choose_the_channels_and_unknown_ones_are_refused(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as chosen, HttpReceiver() as other:
        notifiers = {**hook(chosen.url), "ops": hook(other.url)["hook"]}
        with open_okr_workspace(tmp_path / "ws", database_url, notifiers=notifiers, okr={"notifiers": ["hook"]}) as ws:
            seed(ws)
            assert asyncio.run(remind(ws, now=NOW)).delivered == 2
        assert len(chosen.requests) == 2 and other.requests == []


def test_an_unknown_okr_notifier_is_refused(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "bad", database_url, notifiers=hook("http://127.0.0.1:9/x"),
                            okr={"notifiers": ["slack-team"]}) as ws:  # fmt: skip
        with pytest.raises(ConfigError) as caught:
            asyncio.run(remind(ws, now=NOW))
        assert "slack-team" in caught.value.message and caught.value.where == "andon.yaml: okr.notifiers"


def test_days_come_from_andon_yaml_and_must_be_positive(tmp_path: Path, database_url: str) -> None:
    with open_okr_workspace(tmp_path / "ws", database_url, okr={"remind": {"days": 20}}) as ws:
        krs = seed(ws)
        assert [s.key_result.id for s in asyncio.run(remind(ws, now=NOW)).stale] == [krs["docs"].id]
        with pytest.raises(ConfigError):
            asyncio.run(remind(ws, now=NOW, days=0))


def test_reminders_are_written_in_the_workspace_language(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as receiver:
        with open_okr_workspace(tmp_path / "ws", database_url, notifiers=hook(receiver.url), language="ko") as ws:
            seed(ws)
            asyncio.run(remind(ws, now=NOW))
        titles = sorted(r.json()["title"] for r in receiver.requests)
        assert titles[0].startswith("체크인 요청") and "일째 체크인이 없습니다" in receiver.requests[0].json()["text"]


def test_andon_okr_remind_sends_once_and_lists_them(tmp_path: Path) -> None:
    with HttpReceiver() as receiver:
        ws, krs = today_workspace(tmp_path / "ws", notifiers=hook(receiver.url))
        ws.close()
        dry = andon("okr", "remind", "--dry-run", "--json", cwd=tmp_path / "ws")
        assert dry.returncode == 0, dry.stderr
        listed = json.loads(dry.stdout)
        assert listed["dry_run"] and listed["queued"] == 0 and receiver.requests == []
        assert {s["key"] for s in listed["stale"]} == {krs["auto"].key, krs["docs"].key}
        for _ in range(2):
            sent = andon("okr", "remind", cwd=tmp_path / "ws")
            assert sent.returncode == 0, sent.stderr
        assert "menu-ai-auto" in sent.stdout and "0 new reminder(s)" in sent.stdout
        assert len(receiver.requests) == 2
