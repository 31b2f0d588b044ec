"""The OKR pages' bench: the dashboard workspace with teams, two quarters of objectives, check-ins and work.

    folder = write_okr_workspace(tmp_path)   # web_support's workspace and users, plus the OKRs below
    ids = okr_ids(folder)                     # key → key result id

Stored text carries XSS payloads (an objective title, a check-in note, a work item's link) so every page
that shows them proves they stay inert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tests.web.web_support import write_web_workspace

from andon.okr.objectives import add_key_result, create_objective, record_checkin
from andon.okr.periods import bounds, period_of
from andon.store.models import utcnow
from andon.store.okr import KeyResult, Objective, Team, WorkItem
from andon.workspace import Workspace

XSS_TITLE = '<script>alert("okr")</script> Menus publish themselves'
XSS_NOTE = '<img src=x onerror="alert(1)"> rules tightened'
XSS_URL = "javascript:alert(document.cookie)"
TEAMS = (
    Team(id="product", name="Product", members=("jiwoo",)),
    Team(id="menu-ai", name="Menu AI", parent="product", members=("minsu", "hana")),
    Team(id="ops", name="Review Ops", members=("park",)),
)


def quarters(now: datetime) -> tuple[str, str]:
    """The quarter of ``now`` and the one before it."""
    current = period_of(now.date())
    before = period_of(current.starts - timedelta(days=1))
    return before.id, current.id


def write_okr_workspace(folder: Path, now: datetime | None = None) -> Path:
    """The dashboard workspace (features, users) with OKRs in this quarter and the last, check-ins and work items."""
    now = now or utcnow()
    write_web_workspace(folder)
    last, this = quarters(now)
    with Workspace.open(folder) as ws:
        store = ws.store
        for team in TEAMS:
            store.upsert_team(team)
        auto = create_objective(
            store, Objective(title=XSS_TITLE, owner="jiwoo", team="menu-ai", period=this, key="auto")
        )
        wait = create_objective(store, Objective(title="Reviews are quick", owner="park", team="ops", period=this))
        before = create_objective(store, Objective(title="Launch review", owner="minsu", team="menu-ai", period=last))
        krs = [
            KeyResult(objective=auto.id, title="Automatic approvals", owner="minsu", unit="%", start=40, target=70,
                      key="approvals"),
            KeyResult(objective=auto.id, title="Accuracy at the gate", owner="hana", unit="share", start=0.8,
                      target=0.95, key="accuracy", binding={"type": "work", "measure": "share_done"}),
            KeyResult(objective=wait.id, title="Median review wait", owner="park", unit="min", start=30, target=5,
                      direction="decrease", key="wait"),
            KeyResult(objective=before.id, title="Menus reviewed by the AI", owner="minsu", unit="%", start=0,
                      target=50, key="launched"),
        ]  # fmt: skip
        for kr in krs:
            add_key_result(store, kr, actor="jiwoo")
        start, _ = bounds(store.period(this))  # type: ignore[arg-type]
        early = min(start + timedelta(days=3), now - timedelta(hours=2))
        record_checkin(store, "approvals", 46, author="minsu", confidence=6, comment="first week", at=early)
        record_checkin(store, "approvals", 61, author="minsu", confidence=7, comment=XSS_NOTE,
                       at=now - timedelta(hours=1))  # fmt: skip
        record_checkin(store, "wait", 27, author="park", at=now - timedelta(hours=1))
        last_start, _ = bounds(store.period(last))  # type: ignore[arg-type]
        record_checkin(store, "launched", 48, author="minsu", at=last_start + timedelta(days=40))
        store.upsert_work_items(
            [
                WorkItem(source="jira", external_id="MENU-7", title="Auto-approve clean menus", status="Done",
                         done=True, points=3, url="https://jira.example.com/browse/MENU-7", assignee="minsu"),
                WorkItem(source="github", external_id="andon#12", title="Reason codes in the queue",
                         status="open", url=XSS_URL),
            ]
        )  # fmt: skip
        accuracy = store.key_result("accuracy").id
        for item in store.work_items():
            store.link_work(item.id, accuracy, "measures" if item.source == "jira" else "contributes")
    return folder


def okr_ids(folder: Path) -> dict[str, str]:
    """Each key result's key → its id."""
    with Workspace.open(folder) as ws:
        return {kr.key: kr.id for kr in ws.store.key_results() if kr.key}
