"""E-mail over SMTP with the standard library (run in a worker thread); the password never reaches an error."""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage

from andon.config.schema import EmailNotifierConfig
from andon.watch.notify.base import Message, Notification, NotifierBase, NotifyError, describe

_ADDRESS = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+$")
_PERMANENT_SMTP = range(500, 600)  # 5xx replies: the server refuses for good (bad address, auth refused)


class EmailNotifier(NotifierBase):
    """Sends one plain-text e-mail per incident stage."""

    settings: EmailNotifierConfig

    def secrets(self) -> list[str]:
        """The SMTP password."""
        password = self.settings.password
        return [password.get_secret_value()] if password and password.get_secret_value() else []

    def message(self, notification: Notification) -> EmailMessage:
        """Subject ``[andon] FEATURE: STAGE: TITLE`` and a body with the incident's fields."""
        message = notification.message
        if message is not None:
            return self.generic(notification, message)
        p = notification.payload
        stage = self.stage_name(notification.stage)
        msg = EmailMessage()
        msg["Subject"] = self.text("incidents.notify.subject", feature=p.get("feature", ""), stage=stage,
                                   title=p.get("title", ""))  # fmt: skip
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.to)
        msg["Message-ID"] = f"<{notification.delivery_id.replace(':', '.')}@andon>"
        lines = [f"{stage}: {p.get('title', '')}", ""]
        for key, value in (
            ("incidents.field.feature", p.get("feature")),
            ("incidents.field.incident", notification.incident_id),
            ("incidents.field.monitor", p.get("monitor")),
            ("incidents.field.metric", p.get("metric")),
            ("incidents.field.owner", p.get("owner")),
            ("incidents.field.runbook", p.get("runbook")),
        ):
            if value:
                lines.append(f"{self.text(key)}: {value}")
        note = p.get("note") or p.get("summary")
        if note:
            lines += ["", str(note)]
        lines += ["", self.text("incidents.notify.by", actor=p.get("actor", ""), at=p.get("stage_at", ""))]
        link = self.link(notification)
        if link:
            lines.append(link)
        msg.set_content("\n".join(lines) + "\n")
        return msg

    def generic(self, notification: Notification, message: Message) -> EmailMessage:
        """A message that is no incident, to the addresses among its ``to`` (else the configured ``to:``)."""
        msg = EmailMessage()
        msg["Subject"] = self.text("notify.message.subject", title=message.title)
        msg["From"] = self.settings.sender
        addressed = [p for p in message.to if _ADDRESS.match(p)]
        msg["To"] = ", ".join(addressed or self.settings.to)
        msg["Message-ID"] = f"<{notification.delivery_id.replace(':', '.')}@andon>"
        lines = [message.title, ""] + [f"{k}: {v}" for k, v in message.fields]
        lines += ["", message.text] if message.text else []
        lines += ["", message.link] if message.link else []
        msg.set_content("\n".join(lines) + "\n")
        return msg

    async def send(self, notification: Notification) -> None:
        """Send in a worker thread (smtplib blocks)."""
        await asyncio.to_thread(self._send, self.message(notification))

    def _send(self, msg: EmailMessage) -> None:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.ssl:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with smtp:
                if s.starttls and not s.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username and s.password is not None:
                    smtp.login(s.username, s.password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            code = int(exc.smtp_code)
            raise NotifyError(
                self.safe(f"{self.name}: SMTP {code}: {_reply(exc.smtp_error)}"), retryable=code not in _PERMANENT_SMTP
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(self.safe(f"{self.name}: {describe(exc)}"), retryable=True) from None


def _reply(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return (text.strip().splitlines() or [""])[0][:200]
