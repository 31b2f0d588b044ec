"""A workspace for incident and notification tests: one feature, notifiers as given, on any database URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from andon.store.records import TraceRecord, new_id
from andon.watch.notify.base import Notification
from andon.workspace import Workspace

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

RULES = "def echo(variables):\n    return {'echo': str(variables)}\n"


def write_workspace(folder: Path, *, notifiers: dict[str, Any] | None = None, **extra: Any) -> Path:
    """andon.yaml with features ``menu`` and ``search`` and the given ``notifiers:``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "andon": 1,
        "name": "incident-test",
        "features": {
            "menu": {"versions": {"v1": {"python": "inc_rules:echo"}}},
            "search": {"versions": {"v1": {"python": "inc_rules:echo"}}},
        },
        "notifiers": notifiers or {},
        **extra,
    }
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "inc_rules.py").write_text(RULES, encoding="utf-8")
    return folder


def open_workspace(folder: Path, database_url: str, **options: Any) -> Workspace:
    """Write the workspace and open it on ``database_url``."""
    return Workspace.open(write_workspace(folder, **options), database_url=database_url)


def trace(feature: str, at: datetime, **fields: Any) -> TraceRecord:
    """A stored-shape trace of ``feature`` at ``at``."""
    return TraceRecord(
        id=new_id("trc"), feature=feature, route=fields.pop("route", "ai"), status=fields.pop("status", "ok"),
        input_mode="hash", input=None, input_hash="0" * 64, created_at=at, **fields,
    )  # fmt: skip


def minutes(n: float) -> timedelta:
    """``n`` minutes."""
    return timedelta(minutes=n)


class MemoSettings(BaseModel):
    """Settings of the test plugin notifier."""

    model_config = ConfigDict(extra="forbid")
    prefix: str = Field(min_length=1)


class MemoNotifier:
    """A plugin-style notifier that keeps what it was sent in ``SENT`` (class-level, for the test to read)."""

    Settings = MemoSettings
    SENT: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, name: str, settings: MemoSettings, language: str = "en") -> None:
        self.name = name
        self.settings = settings

    async def send(self, notification: Notification) -> None:
        """Remember it."""
        MemoNotifier.SENT.append((self.settings.prefix, notification.delivery_id))
