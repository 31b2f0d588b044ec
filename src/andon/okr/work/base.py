"""The work-item importer interface: typed settings chosen by ``type``, and ``await fetch(cursor) -> ImportBatch``.

An importer reads tickets from one place (Jira, GitHub, a CSV file …) and turns them into
:class:`~andon.store.okr.WorkItem` records; it never touches the store. The cursor it returns (an ETag, an
updated-since time) is stored by the caller and handed back on the next run, so a re-import fetches only
what changed. A plugin importer subclasses :class:`WorkImporter` and registers under ``andon.work_importers``.
"""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.store.okr import WorkItem

Sleep = Callable[[float], Awaitable[None]]
Cursor = dict[str, Any]


class WorkImportError(AndonError):
    """A remote tracker refused or failed a request (auth, a bad query, a rate limit that lasts too long)."""

    exit_code = 3


class ImporterSettings(BaseModel):
    """Settings every importer shares; each type extends this with its own typed fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    max_retries: int = Field(default=5, ge=0, le=20, description="retries of one request after a rate limit")
    max_wait_s: float = Field(default=300.0, gt=0, description="longest single back-off wait before giving up")
    timeout_s: float = Field(default=30.0, gt=0, description="timeout of one HTTP request")


@dataclass
class ImportContext:
    """What an importer may use from outside: environment (for tokens), an HTTP transport, and a sleep."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    transport: httpx.AsyncBaseTransport | None = None  # None: the real network
    sleep: Sleep = asyncio.sleep

    def secret(self, variable: str, *, setting: str) -> str:
        """The value of the environment variable named in the settings; never printed, never stored."""
        value = self.env.get(variable, "")
        if not value:
            raise ConfigError(
                t("okr_work.token_missing", variable=variable),
                where=setting,
                hint=t("okr_work.token_missing_hint", variable=variable),
            )
        return value


@dataclass(frozen=True)
class ImportBatch:
    """What one fetch found: the items, the cursor to store for next time, and how it went."""

    items: list[WorkItem]
    cursor: Cursor | None
    unchanged: bool = False  # the tracker said nothing changed since the cursor (e.g. HTTP 304)
    requests: int = 0
    waits: tuple[float, ...] = ()  # seconds waited for rate limits, in order


class WorkImporter(ABC):
    """Base of every importer: ``Settings`` checks its options, :meth:`fetch` reads one batch of work items."""

    type_name: ClassVar[str]
    source: ClassVar[str]  # WorkItem.source of what it imports ("jira", "github", "csv")
    Settings: ClassVar[type[ImporterSettings]]

    def __init__(self, settings: ImporterSettings, context: ImportContext | None = None) -> None:
        self.settings = settings
        self.context = context or ImportContext()

    @property
    @abstractmethod
    def cursor_name(self) -> str:
        """The key of this importer's cursor in the store: one per tracker and query."""

    @abstractmethod
    async def fetch(self, cursor: Cursor | None) -> ImportBatch:
        """Read every item changed since ``cursor`` (all of them when None)."""


def parse_time(value: Any) -> datetime | None:
    """An ISO time (Jira's ``2026-11-28T09:12:44.120+0900``, GitHub's ``…Z``) as aware UTC; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
