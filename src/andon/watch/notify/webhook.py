"""A generic JSON webhook, signed with HMAC-SHA256 over the timestamp and the body.

Every delivery is a ``POST`` of ``application/json`` with these headers:

- ``X-Andon-Timestamp``: Unix time in whole seconds when the request was signed.
- ``X-Andon-Signature``: ``v1=`` + lowercase hex of ``HMAC-SHA256(secret, f"{timestamp}.{body}")``, where
  ``body`` is the exact raw request body (bytes, UTF-8) and ``secret`` the notifier's ``secret:``.
- ``X-Andon-Delivery``: the delivery id, the same on every retry of one notification (``INCIDENT:STAGE:NAME``).
- ``X-Andon-Event``: ``incident.<stage>``.

To verify, a receiver: (1) reads the raw body before parsing it; (2) refuses a timestamp more than
300 seconds away from its own clock (the replay window); (3) computes the HMAC above and compares it with
the header's value in constant time (``hmac.compare_digest``); (4) drops a delivery id it has already
processed (a send may be repeated if andon stopped between sending and recording it). The signature covers
the timestamp, so an old body cannot be replayed with a new one. :func:`verify_signature` does 2 and 3.

The body is ``{"type": "andon.incident", "delivery_id", "event", "stage", "incident_id", "link", "incident": {...}}``;
a message that is no incident (a check-in reminder, a review digest) is ``{"type": "andon.message", "delivery_id",
"event": TOPIC, "subject", "title", "text", "fields", "link", "to", "data"}`` with ``X-Andon-Event: TOPIC``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from andon.config.schema import WebhookNotifierConfig
from andon.watch.notify.base import Notification, NotifierBase, url_secret_parts
from andon.watch.notify.http import post_json

SIGNATURE_HEADER = "X-Andon-Signature"
TIMESTAMP_HEADER = "X-Andon-Timestamp"
DELIVERY_HEADER = "X-Andon-Delivery"
EVENT_HEADER = "X-Andon-Event"
SIGNATURE_VERSION = "v1"
REPLAY_WINDOW_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Andon-Signature`` value for ``body`` signed at ``timestamp``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    given: str,
    *,
    now: float | None = None,
    window_s: int = REPLAY_WINDOW_S,
) -> bool:
    """Whether ``given`` signs ``body`` at ``timestamp`` with ``secret``, and the timestamp is within the window."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > window_s:
        return False
    return hmac.compare_digest(signature(secret, stamp, body), given.strip())


def event(notification: Notification) -> str:
    """The ``X-Andon-Event`` value: ``incident.<stage>``, or a message's topic."""
    message = notification.message
    return message.topic if message is not None else f"incident.{notification.stage}"


class WebhookNotifier(NotifierBase):
    """POSTs the incident as JSON, signed (see the module docstring for verification)."""

    settings: WebhookNotifierConfig

    def secrets(self) -> list[str]:
        """The URL's credentials and the signing key."""
        return [*url_secret_parts(self.settings.url.get_secret_value()), self.settings.secret.get_secret_value()]

    def body(self, notification: Notification) -> dict[str, Any]:
        """The JSON document sent."""
        message = notification.message
        if message is not None:
            return {**message.payload(), "delivery_id": notification.delivery_id, "event": message.topic,
                    "subject": notification.incident_id}  # fmt: skip
        return {
            "type": "andon.incident",
            "delivery_id": notification.delivery_id,
            "event": event(notification),
            "stage": notification.stage,
            "incident_id": notification.incident_id,
            "link": self.link(notification),
            "incident": notification.payload,
        }

    def request(self, notification: Notification, *, now: float | None = None) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers of one delivery, signed at ``now``."""
        body = json.dumps(self.body(notification), ensure_ascii=False, sort_keys=True).encode("utf-8")
        stamp = int(time.time() if now is None else now)
        headers = {
            **self.settings.headers,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature(self.settings.secret.get_secret_value(), stamp, body),
            DELIVERY_HEADER: notification.delivery_id,
            EVENT_HEADER: event(notification),
        }
        return body, headers

    async def send(self, notification: Notification) -> None:
        """Sign at the moment of sending (a retry gets a fresh timestamp) and POST."""
        body, headers = self.request(notification)
        async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
            await post_json(self, client, self.settings.url.get_secret_value(), body, headers=headers)
