"""Stage `announced` comes by itself: when the incident's first notification is delivered, with the delivery's
time and the notifier as its actor; never while no receiver has it, never over a person's later stage."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.incidents import T0, minutes, open_workspace
from tests.support.receivers import HttpReceiver, free_port

from andon.store.models import utcnow
from andon.watch import incidents as inc
from andon.workspace import Workspace

SECRET = "whsec-0123456789abcdef"


def _hook(name: str, port: int) -> dict[str, object]:
    return {name: {"type": "webhook", "url": f"http://127.0.0.1:{port}/in", "secret": SECRET, "backoff_base_s": 1}}


def _open(ws: Workspace) -> inc.Incident:
    return inc.open_incident(ws, feature="menu", title="errors up", actor="monitor:errors", detected_at=T0)


def test_the_first_delivery_announces_the_incident(tmp_path: Path, database_url: str) -> None:
    down = free_port()
    with (
        HttpReceiver() as pager,
        open_workspace(
            tmp_path / "ws", database_url, notifiers={**_hook("pager", pager.port), **_hook("backup", down)}
        ) as ws,
    ):
        opened = _open(ws)
        inc.advance(ws, opened.id, "mitigated", actor="monitor:errors", at=T0 + minutes(1), action="stop")
        before = utcnow()
        delivered = asyncio.run(inc.deliver(ws))
        after = utcnow()
        incident = inc.get_incident(ws, opened.id)
        timeline = inc.timeline(ws, opened.id)
        rows = ws.store.outbox(opened.id)
    # pager: detected, mitigated, and then announced (written by the first delivery, due at once); backup is down.
    assert delivered == 3
    assert sorted(r.json()["stage"] for r in pager.requests) == ["announced", "detected", "mitigated"]
    assert incident.stage == "announced" and incident.actors["announced"] == "notifier:pager"
    assert before <= incident.stages["announced"] <= after
    (stage,) = [e for e in timeline if e.kind == "stage" and e.stage == "announced"]
    assert stage.actor == "notifier:pager" and stage.at == incident.stages["announced"]
    assert sorted((r.stage, r.notifier, r.status) for r in rows) == [
        ("announced", "backup", "pending"), ("announced", "pager", "delivered"),
        ("detected", "backup", "pending"), ("detected", "pager", "delivered"),
        ("mitigated", "backup", "pending"), ("mitigated", "pager", "delivered"),
    ]  # fmt: skip


def test_nothing_is_announced_while_no_receiver_has_it(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with open_workspace(tmp_path / "ws", database_url, notifiers=_hook("pager", port)) as ws:
        opened = _open(ws)
        assert asyncio.run(inc.deliver(ws)) == 0  # nobody listens
        assert "announced" not in inc.get_incident(ws, opened.id).stages
        with HttpReceiver(port) as pager:
            (row,) = ws.store.outbox(opened.id)
            assert asyncio.run(inc.deliver(ws, now=row.next_attempt_at)) >= 1
            asyncio.run(inc.deliver(ws))
        incident = inc.get_incident(ws, opened.id)
    assert incident.actors["announced"] == "notifier:pager"
    assert [r.json()["stage"] for r in pager.requests] == ["detected", "announced"]  # each once


def test_a_person_s_later_stage_and_a_closed_incident_are_left_alone(tmp_path: Path, database_url: str) -> None:
    with (
        HttpReceiver() as pager,
        open_workspace(tmp_path / "ws", database_url, notifiers=_hook("pager", pager.port)) as ws,
    ):
        confirmed = _open(ws)
        inc.advance(ws, confirmed.id, "confirmed", actor="kim", false_alarm=True, cause="a holiday")
        closed = inc.open_incident(ws, feature="menu", title="b", actor="m", detected_at=T0, dedupe_key="b")
        inc.advance(ws, closed.id, "closed", actor="kim")
        asyncio.run(inc.deliver(ws))
        after = {i.id: i for i in (inc.get_incident(ws, confirmed.id), inc.get_incident(ws, closed.id))}
    assert all("announced" not in i.stages for i in after.values())
    assert after[confirmed.id].stage == "confirmed" and after[closed.id].stage == "closed"
    assert sorted(r.json()["stage"] for r in pager.requests) == ["closed", "confirmed", "detected", "detected"]
