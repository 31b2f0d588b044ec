"""Incidents for the Incidents pages' tests, made by the same floor-7 functions the cord and the CLI call.

ids = seed_incidents(folder)  # an open one mid-way, a closed past one, a fresh one with markup in its title
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from andon.store.models import utcnow
from andon.watch.incidents import add_note, advance, open_incident
from andon.workspace import Workspace

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@dataclass(frozen=True)
class Seeded:
    """The ids of the seeded incidents."""

    open_id: str  # menu, detected 10 min after its start, mitigated 2 min later by the cord
    closed_id: str  # menu, an older one walked through every stage
    fresh_id: str  # echo, only detected; title carries markup


def seed_incidents(folder: Path) -> Seeded:
    """Three incidents in the workspace at ``folder``."""
    now = utcnow()
    with Workspace.open(folder) as ws:
        old = open_incident(ws, feature="menu", title="menu refusals jumped", actor="monitor:refusals",
                            detected_at=now - timedelta(days=3), monitor="refusals", metric="refusal_rate",
                            runbook="https://runbooks.example/menu")  # fmt: skip
        for stage, fields in (
            ("mitigated", {"action": "stop"}),
            ("confirmed", {"false_alarm": False, "cause": "provider timeout on long menus"}),
            ("decided", {"decision": "resume"}),
            ("closed", {}),
        ):
            advance(ws, old.id, stage, actor="user:rita", **fields)
        detected = now - timedelta(minutes=30)
        current = open_incident(ws, feature="menu", title="menu provider timeout again", actor="monitor:refusals",
                                detected_at=detected, monitor="refusals", metric="refusal_rate",
                                runbook="javascript:alert(1)",
                                details={"started_at": (detected - timedelta(minutes=10)).isoformat()})  # fmt: skip
        advance(ws, current.id, "mitigated", actor="user:ravi", at=detected + timedelta(minutes=2), action="stop")
        add_note(ws, current.id, "looking at the provider dashboard", actor="user:ravi")
        fresh = open_incident(ws, feature="echo", title=f"echo broke {XSS}", actor="user:ada",
                              detected_at=now - timedelta(minutes=5))  # fmt: skip
    return Seeded(open_id=current.id, closed_id=old.id, fresh_id=fresh.id)
