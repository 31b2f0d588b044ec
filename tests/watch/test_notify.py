"""Notifiers over real loopback servers: Slack Block Kit, the signed webhook (HMAC), e-mail over SMTP;
secrets never in errors, logs or the store; bad `notifiers:` config refused with file:line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from hypothesis import given
from hypothesis import strategies as st
from tests.support.incidents import T0, minutes, open_workspace
from tests.support.receivers import HttpReceiver, free_port

from andon.config.loader import load_config
from andon.config.schema import PluginNotifierConfig, WebhookNotifierConfig
from andon.errors import ConfigError
from andon.watch import incidents as inc
from andon.watch.notify import build_notifier
from andon.watch.notify.base import Notification
from andon.watch.notify.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    signature,
    verify_signature,
)
from andon.watch.outbox import deliver_due
from andon.workspace import Workspace

SLACK_TOKEN_PATH = "/services/T0ANDON/B0TEST/sEcReTt0KeN123"
HMAC_SECRET = "whsec-0123456789abcdef"
LATER = T0 + minutes(60 * 24 * 365 * 10)  # far enough that every pending row is due


def _lifecycle(ws: Workspace) -> str:
    """Walk one incident through all seven stages, delivering after each; returns its id."""
    opened = inc.open_incident(ws, feature="menu", title="reject rate jumped", actor="monitor:reject-rate",
                               detected_at=T0, monitor="reject-rate", metric="label_share",
                               runbook="https://wiki.example/rb")  # fmt: skip
    steps: list[tuple[str, dict[str, Any]]] = [
        ("mitigated", {"action": "stop"}), ("announced", {}), ("confirmed", {"false_alarm": False, "cause": "model"}),
        ("impact_assessed", {}), ("decided", {"decision": "resume"}), ("closed", {}),
    ]  # fmt: skip
    asyncio.run(deliver_due(ws, now=LATER))
    for n, (stage, fields) in enumerate(steps, start=1):
        inc.advance(ws, opened.id, stage, actor="kim", at=T0 + minutes(n), **fields)
        inc.advance(ws, opened.id, stage, actor="kim", at=T0 + minutes(n), **fields)  # twice: still one message
        asyncio.run(deliver_due(ws, now=LATER))
        asyncio.run(deliver_due(ws, now=LATER))
    return opened.id


@pytest.fixture
def slack() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


def test_slack_gets_exactly_one_block_kit_message_per_stage(
    tmp_path: Path, database_url: str, slack: HttpReceiver
) -> None:
    notifiers = {"team": {"type": "slack", "webhook_url": slack.url + SLACK_TOKEN_PATH,
                          "incident_url": "https://andon.example/incidents/{id}"}}  # fmt: skip
    with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
        incident_id = _lifecycle(ws)
        assert {r.status for r in ws.store.outbox(incident_id)} == {"delivered"}
    assert [r.path for r in slack.requests] == [SLACK_TOKEN_PATH] * len(inc.STAGES)
    bodies = [r.json() for r in slack.requests]
    for stage, body in zip(inc.STAGES, bodies, strict=True):
        header = body["blocks"][0]["text"]["text"]
        assert header.endswith(f"{stage.replace('_', ' ')}: reject rate jumped")
        fields = " ".join(f["text"] for f in body["blocks"][1]["fields"])
        assert "menu" in fields and "reject-rate" in fields and incident_id in fields
        assert stage.replace("_", " ") in fields  # the stage, in the workspace's language (en)
        button = body["blocks"][-1]["elements"][0]
        assert button["url"] == f"https://andon.example/incidents/{incident_id}"


def test_slack_message_in_korean_when_the_workspace_says_ko(
    tmp_path: Path, database_url: str, slack: HttpReceiver
) -> None:
    notifiers = {"team": {"type": "slack", "webhook_url": slack.url + SLACK_TOKEN_PATH, "stages": ["detected"]}}
    with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers, language="ko") as ws:
        inc.open_incident(ws, feature="menu", title="반려율 급등", actor="monitor:m", detected_at=T0)
        assert asyncio.run(deliver_due(ws, now=LATER)) == 1
    (body,) = [r.json() for r in slack.requests]
    assert "감지" in body["blocks"][0]["text"]["text"] and "기능" in body["blocks"][1]["fields"][0]["text"]
    # No incident_url: the button opens nothing; without a runbook there is no button at all.
    assert body["blocks"][-1]["type"] == "context"


def test_webhook_is_signed_and_each_stage_arrives_once(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as hook:
        notifiers = {"audit": {"type": "webhook", "url": hook.url + "/andon?token=abc123", "secret": HMAC_SECRET}}
        with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
            incident_id = _lifecycle(ws)
    assert [r.json()["stage"] for r in hook.requests] == list(inc.STAGES)
    for request in hook.requests:
        headers = request.headers
        assert verify_signature(HMAC_SECRET, headers[TIMESTAMP_HEADER.lower()], request.body,
                                headers[SIGNATURE_HEADER.lower()])  # fmt: skip
        assert not verify_signature("another-secret-0000", headers[TIMESTAMP_HEADER.lower()], request.body,
                                    headers[SIGNATURE_HEADER.lower()])  # fmt: skip
        body = request.json()
        assert headers[DELIVERY_HEADER.lower()] == body["delivery_id"] == f"{incident_id}:{body['stage']}:audit"
        assert body["incident"]["incident_id"] == incident_id
    impact = hook.requests[4].json()["incident"]["impact"]
    assert impact["calls"] == 0 and impact["to_people"] == 0


def test_signature_covers_timestamp_and_body_and_expires() -> None:
    body = b'{"stage": "detected"}'
    stamp = int(time.time())
    good = signature(HMAC_SECRET, stamp, body)
    assert verify_signature(HMAC_SECRET, str(stamp), body, good)
    assert not verify_signature(HMAC_SECRET, str(stamp + 1), body, good)  # another timestamp
    assert not verify_signature(HMAC_SECRET, str(stamp), body + b" ", good)  # another body
    old = stamp - 301
    assert not verify_signature(HMAC_SECRET, str(old), body, signature(HMAC_SECRET, old, body))  # replay window
    assert verify_signature(HMAC_SECRET, str(old), body, signature(HMAC_SECRET, old, body), now=old + 10)
    assert not verify_signature(HMAC_SECRET, "soon", body, good)


@given(body=st.binary(max_size=200), secret=st.text(min_size=16, max_size=40), flip=st.integers(min_value=0))
def test_any_single_byte_change_breaks_the_signature(body: bytes, secret: str, flip: int) -> None:
    stamp = 1_800_000_000
    given_sig = signature(secret, stamp, body)
    assert verify_signature(secret, str(stamp), body, given_sig, now=stamp)
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not verify_signature(secret, str(stamp), changed, given_sig, now=stamp)


def test_webhook_request_matches_the_documented_signed_string() -> None:
    config = WebhookNotifierConfig.model_validate(
        {"type": "webhook", "url": "https://x.example/h", "secret": HMAC_SECRET}
    )
    notifier = WebhookNotifier("audit", config)
    note = Notification("inc_1:detected:audit", "inc_1", "detected", {"feature": "menu", "incident_id": "inc_1"})
    body, headers = notifier.request(note, now=1_800_000_000.7)
    import hashlib
    import hmac

    expected = hmac.new(HMAC_SECRET.encode(), b"1800000000." + body, hashlib.sha256).hexdigest()
    assert headers[TIMESTAMP_HEADER] == "1800000000" and headers[SIGNATURE_HEADER] == f"v1={expected}"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, bytes]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append((envelope, bytes(envelope.content or b"")))
        return "250 OK"


class _SMTP:
    """aiosmtpd on 127.0.0.1; with ``password`` it requires AUTH (plain text allowed on loopback)."""

    def __init__(self, password: str | None = None) -> None:
        self.inbox = _Inbox()
        self.port = free_port()

        def check(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.password.decode() == password
            return AuthResult(success=ok, handled=False)  # the server answers 235 or 535 itself

        options: dict[str, Any] = {}
        if password is not None:
            options = {"authenticator": check, "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> _SMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def _email(port: int, **extra: Any) -> dict[str, Any]:
    to = ["oncall@example.com", "pm@example.com"]
    mail = {"type": "email", "host": "127.0.0.1", "port": port, "starttls": False, "sender": "andon@example.com"}
    return {"mail": {**mail, "to": to, "stages": ["detected", "confirmed"], **extra}}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_over_a_loopback_smtp_server(tmp_path: Path, database_url: str) -> None:
    with _SMTP(password="smtp-pass-word") as smtp:
        notifiers = _email(smtp.port, username="andon", password="smtp-pass-word")
        with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
            opened = inc.open_incident(
                ws, feature="menu", title="reject rate jumped", actor="monitor:m", detected_at=T0,
                runbook="https://wiki.example/rb",
            )  # fmt: skip
            inc.advance(ws, opened.id, "mitigated", actor="monitor:m", action="stop")  # not in `stages`: no mail
            inc.advance(ws, opened.id, "confirmed", actor="kim", false_alarm=True, cause="holiday")
            assert asyncio.run(deliver_due(ws, now=LATER)) == 2
            assert asyncio.run(deliver_due(ws, now=LATER)) == 0
    assert len(smtp.inbox.messages) == 2
    mails = {
        message_from_bytes(raw)["Subject"]: (envelope, message_from_bytes(raw)) for envelope, raw in smtp.inbox.messages
    }
    assert sorted(mails) == [
        "[andon] menu: confirmed: reject rate jumped",
        "[andon] menu: detected: reject rate jumped",
    ]
    envelope, mail = mails["[andon] menu: confirmed: reject rate jumped"]
    assert sorted(envelope.rcpt_tos) == ["oncall@example.com", "pm@example.com"]
    text = mail.get_payload(decode=True).decode()
    assert "A false alarm: holiday" in text and "https://wiki.example/rb" in text and opened.id in text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_password_never_reaches_errors_logs_or_the_store(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wr0ng-pa55word-xyz"
    with _SMTP(password="right-password") as smtp:
        notifiers = _email(smtp.port, username="andon", password=secret)
        with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws, caplog.at_level(logging.DEBUG):
            inc.open_incident(ws, feature="menu", title="t", actor="monitor:m", detected_at=T0)
            assert asyncio.run(deliver_due(ws, now=LATER)) == 0
            (row,) = ws.store.outbox()
    assert row.status == "failed" and row.last_error and "535" in row.last_error  # auth refused: no retry
    assert secret not in row.last_error and secret not in caplog.text
    assert not smtp.inbox.messages


def test_slack_token_never_reaches_errors_logs_or_the_store(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with HttpReceiver(status=404) as gone:
        notifiers = {"team": {"type": "slack", "webhook_url": gone.url + SLACK_TOKEN_PATH}}
        with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws, caplog.at_level(logging.DEBUG):
            inc.open_incident(ws, feature="menu", title="t", actor="monitor:m", detected_at=T0)
            asyncio.run(deliver_due(ws, now=LATER))
            (row,) = ws.store.outbox()
    assert row.status == "failed" and "HTTP 404" in (row.last_error or "")  # a revoked webhook: given up at once
    for part in ("sEcReTt0KeN123", "B0TEST", SLACK_TOKEN_PATH):
        assert part not in (row.last_error or "") and part not in caplog.text


def test_bad_notifier_config_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_text(
        "andon: 1\nnotifiers:\n  team:\n    type: slack\n    webhook_url: https://hooks.slack.com/x\n"
        "    stages: [detected, fixed]\n  audit:\n    type: webhook\n    url: https://x.example/h\n"
        "    secret: short\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert f"{path}:6:" in text and "notifiers.team.stages" in text and "fixed" in text
    assert f"{path}:10:" in text and "notifiers.audit.secret" in text
    path.write_text("andon: 1\nnotifiers:\n  team:\n    type: slack\n    webhok_url: https://h/x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as typo:
        load_config(path)
    assert f"{path}:5:5: notifiers.team.webhok_url: unknown field" in str(typo.value)
    assert "did you mean 'webhook_url'?" in str(typo.value)  # the problem's own hint, among all problems


def test_unknown_notifier_type_names_the_field() -> None:
    config = PluginNotifierConfig.model_validate({"type": "pagerduty"})
    with pytest.raises(ConfigError) as caught:
        build_notifier("pager", config)
    assert caught.value.where == "andon.yaml: notifiers.pager.type" and "slack" in caught.value.message


def test_a_plugin_notifier_gets_its_own_typed_settings(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.incidents import MemoNotifier

    from andon.watch.notify import REGISTRY

    # As an installed entry point would, without installing a package in the test.
    monkeypatch.setitem(REGISTRY.builtins, "memo", "tests.support.incidents:MemoNotifier")
    monkeypatch.setattr(MemoNotifier, "SENT", [])
    with open_workspace(
        tmp_path / "ws", database_url, notifiers={"m": {"type": "memo", "options": {"prefix": "P"}}}
    ) as ws:
        opened = inc.open_incident(ws, feature="menu", title="t", actor="monitor:m", detected_at=T0)
        assert asyncio.run(deliver_due(ws, now=LATER)) == 1
    assert [("P", f"{opened.id}:detected:m")] == MemoNotifier.SENT
    with pytest.raises(ConfigError) as caught:
        build_notifier("m", PluginNotifierConfig.model_validate({"type": "memo", "options": {"prefix": ""}}))
    assert caught.value.where == "andon.yaml: notifiers.m.options.prefix"
