"""The generic message path of the notifiers (reminders, digests): written once per subject, step and notifier,
rendered by Slack, the signed webhook and e-mail over loopback servers, incidents untouched."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from tests.support.incidents import T0, open_workspace
from tests.support.receivers import HttpReceiver, free_port

from andon.errors import ConfigError
from andon.watch.notify.base import Message, Notification
from andon.watch.outbox import deliver_due, message_notifications

MESSAGE = Message(
    topic="okr.reminder", title="Check-in due: approval share", text="Nobody checked in for 9 days <soon>.",
    fields=(("Owner", "kim"), ("Team", "menu-ai")), link="https://andon.example/okr/kr_1",
    to=("kim@example.com", "kim"), data={"key_result": "kr_1"},
)  # fmt: skip


def test_the_payload_round_trips_and_an_incident_is_no_message() -> None:
    assert Message.from_payload(MESSAGE.payload()) == MESSAGE
    assert Notification("d", "inc_1", "detected", {"feature": "menu"}).message is None


def test_a_message_is_queued_once_per_subject_step_and_notifier(tmp_path: Path, database_url: str) -> None:
    notifiers = {"a": {"type": "slack", "webhook_url": "https://hooks.example/a"},
                 "b": {"type": "slack", "webhook_url": "https://hooks.example/b", "stages": ["detected"]}}  # fmt: skip
    with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
        rows = message_notifications(ws.config, MESSAGE, subject="kr_1", step="remind:2026-12-01")
        assert [r.dedupe_key for r in rows] == ["kr_1:remind:2026-12-01:a", "kr_1:remind:2026-12-01:b"]
        ws.store.enqueue_notifications(rows, T0)
        ws.store.enqueue_notifications(rows, T0)
        assert len(ws.store.outbox("kr_1")) == 2
        only = message_notifications(ws.config, MESSAGE, subject="kr_1", step="s", notifiers=["b"])
        assert [r.notifier for r in only] == ["b"]
        with pytest.raises(ConfigError):
            message_notifications(ws.config, MESSAGE, subject="kr_1", step="s", notifiers=["nope"])


def test_slack_renders_the_message_as_block_kit(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as slack:
        notifiers = {"team": {"type": "slack", "webhook_url": f"{slack.url}/services/T0/B0/secret-token"}}
        with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
            ws.store.enqueue_notifications(message_notifications(ws.config, MESSAGE, subject="kr_1", step="s1"), T0)
            assert asyncio.run(deliver_due(ws, now=T0)) == 1
            assert asyncio.run(deliver_due(ws, now=T0)) == 0
    (request,) = slack.requests
    body = request.json()
    blocks = body["blocks"]
    assert body["text"] == MESSAGE.title and blocks[0]["text"]["text"] == MESSAGE.title
    assert [f["text"] for f in blocks[1]["fields"]] == ["*Owner*\nkim", "*Team*\nmenu-ai"]
    assert blocks[2]["text"]["text"] == "Nobody checked in for 9 days &lt;soon&gt;."
    assert blocks[3]["elements"][0]["url"] == MESSAGE.link


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, bytes]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope, bytes(envelope.content or b"")))
        return "250 OK"


def test_email_goes_to_the_addressed_owner(tmp_path: Path, database_url: str) -> None:
    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = {"type": "email", "host": "127.0.0.1", "port": port, "starttls": False,
                "sender": "andon@example.com", "to": ["pm@example.com"]}  # fmt: skip
        with open_workspace(tmp_path / "ws", database_url, notifiers={"mail": mail}) as ws:
            plain = Message(topic="okr.digest", title="Weekly review", text="all fine")
            rows = message_notifications(ws.config, MESSAGE, subject="kr_1", step="s1")
            rows += message_notifications(ws.config, plain, subject="team:menu-ai", step="s1")
            ws.store.enqueue_notifications(rows, T0)
            assert asyncio.run(deliver_due(ws, now=T0)) == 2
    finally:
        controller.stop()
    sent = {message_from_bytes(raw)["Subject"]: (env, message_from_bytes(raw)) for env, raw in inbox.messages}
    envelope, reminder = sent["[andon] Check-in due: approval share"]
    assert envelope.rcpt_tos == ["kim@example.com"]  # the owner's address; "kim" is no address
    text = reminder.get_payload(decode=True).decode()
    assert "Owner: kim" in text and MESSAGE.text in text and MESSAGE.link in text
    assert sent["[andon] Weekly review"][0].rcpt_tos == ["pm@example.com"]  # nobody addressed: the configured list
