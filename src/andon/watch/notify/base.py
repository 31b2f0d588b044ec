"""The notifier interface: ``await send(notification)``; a :class:`NotifyError` says whether retrying helps.

A plugin notifier is a class taking ``(name, settings, language)`` whose ``Settings`` (a Pydantic model) checks
the ``options:`` of its ``notifiers:`` entry; register it under the entry-point group ``andon.notifiers``.
Most notifications announce an incident's stage; ``notification.message`` is set instead for a generic
:class:`Message` (an OKR check-in reminder, a weekly digest), whose text is written already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import urlsplit

from andon.errors import AndonError
from andon.messages import t
from andon.providers.endpoint import MASK, scrub, url_secrets


class NotifyError(AndonError):
    """A delivery failed; ``retryable`` says whether the outbox should try again, ``retry_after`` when."""

    exit_code = 3

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


MESSAGE_TYPE = "andon.message"


@dataclass(frozen=True, slots=True)
class Message:
    """A notification that is no incident stage (a reminder, a digest): its text already in the reader's language.

    ``to`` names the people it is for (an e-mail notifier writes to those that are addresses); ``data`` is
    machine-readable detail for webhook receivers.
    """

    topic: str  # what kind of message, e.g. "okr.reminder": the webhook's event
    title: str
    text: str
    fields: tuple[tuple[str, str], ...] = ()
    link: str | None = None
    to: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON stored in the outbox row."""
        return {
            "type": MESSAGE_TYPE, "topic": self.topic, "title": self.title, "text": self.text,
            "fields": [list(pair) for pair in self.fields], "link": self.link, "to": list(self.to), "data": self.data,
        }  # fmt: skip

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message | None:
        """The message an outbox payload holds, or None when it is an incident's."""
        if payload.get("type") != MESSAGE_TYPE:
            return None
        return cls(
            topic=str(payload.get("topic", "")), title=str(payload.get("title", "")), text=str(payload.get("text", "")),
            fields=tuple((str(k), str(v)) for k, v in payload.get("fields") or ()), link=payload.get("link"),
            to=tuple(str(p) for p in payload.get("to") or ()), data=dict(payload.get("data") or {}),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notification:
    """One stage of one incident to announce; ``delivery_id`` is stable across retries (receivers de-dupe on it)."""

    delivery_id: str
    incident_id: str
    stage: str
    payload: dict[str, Any]  # the incident as it stood at that stage (andon.watch.outbox.payload), or a Message

    @property
    def message(self) -> Message | None:
        """The generic message this carries (``incident_id`` is then its subject, ``stage`` its step), if any."""
        return Message.from_payload(self.payload)

    @property
    def feature(self) -> str:
        """The incident's feature."""
        return str(self.payload.get("feature", ""))

    @property
    def at(self) -> datetime | None:
        """When the stage was reached."""
        value = self.payload.get("stage_at")
        return datetime.fromisoformat(value) if isinstance(value, str) else None


@runtime_checkable
class Notifier(Protocol):
    """Something that announces an incident's stage somewhere."""

    name: str

    async def send(self, notification: Notification) -> None:
        """Deliver it, or raise :class:`NotifyError`; must not block the event loop."""
        ...


class NotifierBase:
    """Shared helpers: the incident link, stage names in the workspace's language, scrubbing secrets from errors."""

    Settings: ClassVar[type[Any] | None] = None  # plugins: the model that checks `options:`

    def __init__(self, name: str, settings: Any, language: str = "en") -> None:
        self.name = name
        self.settings = settings
        self.language = language

    def secrets(self) -> list[str]:
        """Every substring that must never appear in a message, log or stored error."""
        return []

    def safe(self, text: str) -> str:
        """``text`` with this notifier's secrets masked."""
        return scrub(text, self.secrets())

    def link(self, notification: Notification) -> str | None:
        """Where a reader opens the incident: ``incident_url`` with ``{id}``, else the runbook."""
        message = notification.message
        if message is not None:
            return message.link
        template = getattr(self.settings, "incident_url", None)
        if template:
            return str(template).replace("{id}", notification.incident_id)
        runbook = notification.payload.get("runbook")
        return str(runbook) if runbook else None

    def stage_name(self, stage: str) -> str:
        """The stage as a reader says it."""
        return t(f"incidents.stage.{stage}", language=self.language)

    def text(self, key: str, **values: Any) -> str:
        """A catalogue message in the workspace's language."""
        return t(key, language=self.language, **values)


def url_secret_parts(url: str) -> list[str]:
    """The whole URL, its userinfo and query values, and its path segments: a webhook's path is often its token."""
    found = [url, *url_secrets(url)]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found += [segment for segment in parts.path.split("/") if len(segment) >= 6]
    if parts.path and parts.path != "/":
        found.append(parts.path)
    return sorted({s for s in found if s}, key=len, reverse=True)


def shown_url(url: str) -> str:
    """Scheme and host only (``https://hooks.slack.com/***``): the rest of a webhook URL is a secret."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname or ''}{port}/{MASK}"
    except ValueError:
        return MASK


def describe(exc: BaseException) -> str:
    """A one-line description of a transport error (its type and first line)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
