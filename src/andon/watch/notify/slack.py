"""Slack incoming webhooks with Block Kit: the stage, feature, monitor and a link; the URL (a token) never shown."""

from __future__ import annotations

from typing import Any

import httpx

from andon.config.schema import SlackNotifierConfig
from andon.watch.notify.base import Message, Notification, NotifierBase, url_secret_parts
from andon.watch.notify.http import post_json

_STAGE_EMOJI = {
    "detected": ":rotating_light:",
    "mitigated": ":octagonal_sign:",
    "announced": ":mega:",
    "confirmed": ":mag:",
    "impact_assessed": ":bar_chart:",
    "decided": ":white_check_mark:",
    "closed": ":checkered_flag:",
}


class SlackNotifier(NotifierBase):
    """Posts one Block Kit message per incident stage to a Slack incoming webhook."""

    settings: SlackNotifierConfig

    def secrets(self) -> list[str]:
        """The webhook URL and its path segments (Slack's token is the path)."""
        return url_secret_parts(self.settings.webhook_url.get_secret_value())

    def message(self, notification: Notification) -> dict[str, Any]:
        """The Block Kit body: header, fields, the note, who and when, and a button to the incident."""
        message = notification.message
        if message is not None:
            return self.generic(message)
        p = notification.payload
        stage = self.stage_name(notification.stage)
        title = f"{_STAGE_EMOJI.get(notification.stage, '')} {stage}: {p.get('title', '')}".strip()
        fields = [
            ("incidents.field.feature", p.get("feature")),
            ("incidents.field.stage", stage),
            ("incidents.field.monitor", p.get("monitor")),
            ("incidents.field.metric", p.get("metric")),
            ("incidents.field.owner", p.get("owner")),
            ("incidents.field.incident", notification.incident_id),
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{self.text(key)}*\n{_escape(str(value))}"}
                    for key, value in fields
                    if value
                ],
            },
        ]
        note = p.get("note") or p.get("summary")
        if note:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _escape(str(note))[:2900]}})
        context = self.text("incidents.notify.by", actor=p.get("actor", ""), at=p.get("stage_at", ""))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(context)}]})
        blocks += self._button(self.link(notification), self.text("incidents.notify.open"))
        return {"text": f"{title} ({p.get('feature', '')})", "blocks": blocks}

    def generic(self, message: Message) -> dict[str, Any]:
        """A message that is no incident: its title, its fields, its text and a button to its link."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": True}}
        ]
        if message.fields:
            blocks.append({"type": "section", "fields": [
                {"type": "mrkdwn", "text": f"*{_escape(k)}*\n{_escape(v)}"} for k, v in message.fields[:10]
            ]})  # fmt: skip
        if message.text:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _escape(message.text)[:2900]}})
        blocks += self._button(message.link, self.text("notify.message.open"))
        return {"text": message.title, "blocks": blocks}

    def _button(self, link: str | None, label: str) -> list[dict[str, Any]]:
        if not link:
            return []
        button = {"type": "button", "text": {"type": "plain_text", "text": label}, "url": link}
        return [{"type": "actions", "elements": [button]}]

    async def send(self, notification: Notification) -> None:
        """POST the message; Slack answers 200 ``ok``."""
        async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
            await post_json(
                self, client, self.settings.webhook_url.get_secret_value(), self.message(notification), headers={}
            )


def _escape(text: str) -> str:
    # Slack's mrkdwn needs only these three escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
