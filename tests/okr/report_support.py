"""OKR data for the report tests: a team, a quarter, an objective and key results with check-ins at given times."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.incidents import write_workspace

from andon.okr.periods import period_of
from andon.store.okr import CheckIn, KeyResult, Objective, Period, Team
from andon.workspace import Workspace

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday, two months into 2026Q4
Q4 = Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31))
SECRET = "whsec-0123456789abcdef"


def days(n: float) -> timedelta:
    """``n`` days."""
    return timedelta(days=n)


def hook(url: str, **extra: Any) -> dict[str, Any]:
    """A signed webhook notifier pointed at ``url``."""
    return {"hook": {"type": "webhook", "url": url, "secret": SECRET, "backoff_base_s": 10, **extra}}


def open_okr_workspace(folder: Path, database_url: str | None, **options: Any) -> Workspace:
    """A workspace (features ``menu`` and ``search``) with the given ``notifiers:``/``okr:`` options."""
    return Workspace.open(write_workspace(folder, **options), database_url=database_url)


def seed(ws: Workspace, *, team: str = "menu-ai", period: Period = Q4, now: datetime = NOW) -> dict[str, KeyResult]:
    """An objective of ``team`` with three key results: last checked in 10 days ago, 2 days ago, and never."""
    ws.store.upsert_team(Team(id=team, name=team.replace("-", " ").title(), members=("kim", "lee@example.com")))
    ws.store.upsert_period(period)
    created = now - days(30)
    obj = ws.store.add_objective(
        Objective(title="Menus go live without waiting", owner="kim", team=team, period=period.id, created_at=created)
    )
    krs = {
        "auto": KeyResult(objective=obj.id, title="Automatic approval share", owner="kim", start=40.0, target=70.0,
                          unit="%", created_at=created, key=f"{team}-auto"),
        "wait": KeyResult(objective=obj.id, title="Median review wait", owner="lee@example.com", start=90.0,
                          target=30.0, direction="decrease", unit="min", created_at=created, key=f"{team}-wait"),
        "docs": KeyResult(objective=obj.id, title="Reviewer guide published", owner="kim", start=0.0, target=1.0,
                          kind="milestone", created_at=created, key=f"{team}-docs"),
    }  # fmt: skip
    for kr in krs.values():
        ws.store.add_key_result(kr)
    checkin(ws, krs["auto"], 45.0, now - days(17))
    checkin(ws, krs["auto"], 52.0, now - days(10))
    checkin(ws, krs["wait"], 70.0, now - days(9))
    checkin(ws, krs["wait"], 50.0, now - days(2))
    return krs


def checkin(ws: Workspace, kr: KeyResult, value: float, at: datetime) -> None:
    """A manual check-in of ``value`` at ``at``."""
    ws.store.add_checkin(CheckIn(key_result=kr.id, value=value, author=kr.owner, created_at=at))


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    """``andon ARGS`` in a real subprocess, in ``cwd``, its messages in ``lang``."""
    env = {**os.environ, "ANDON_LANG": lang, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    for name in ("ANDON_WORKSPACE", "ANDON_DATABASE_URL"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def today_workspace(folder: Path, **options: Any) -> tuple[Workspace, dict[str, KeyResult]]:
    """A workspace on its own SQLite store, seeded relative to the real clock (for the CLI, which reads it)."""
    ws = Workspace.open(write_workspace(folder, **options))
    now = datetime.now(UTC)
    return ws, seed(ws, period=period_of(now.date()), now=now)
