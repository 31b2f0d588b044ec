"""Slack incoming webhooks with Block Kit: the stage, feature, monitor and a link; the URL (a token) never shown."""

from __future__ import annotations

from typing import Any

import httpx

from andon.config.schema import SlackNotifierConfig
from andon.watch.notify.base import Notification, NotifierBase, url_secret_parts
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
        link = self.link(notification)
        if link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": self.text("incidents.notify.open")},
                            "url": link,
                        }
                    ],
                }
            )
        return {"text": f"{title} ({p.get('feature', '')})", "blocks": blocks}

    async def send(self, notification: Notification) -> None:
        """POST the message; Slack answers 200 ``ok``."""
        async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
            await post_json(
                self, client, self.settings.webhook_url.get_secret_value(), self.message(notification), headers={}
            )


def _escape(text: str) -> str:
    # Slack's mrkdwn needs only these three escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
