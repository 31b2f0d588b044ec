"""The outbox: written with the incident change, de-duplicated per (incident, stage, notifier), retried with
backoff while a receiver is down and then delivered once, resumed by a restarted process, never sent twice
by two deliverers at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.incidents import T0, minutes, open_workspace
from tests.support.receivers import HttpReceiver, free_port

from andon.config.schema import WebhookNotifierConfig
from andon.store.outbox import NewNotification
from andon.watch import incidents as inc
from andon.watch.outbox import backoff, deliver_due
from andon.workspace import Workspace

SECRET = "whsec-0123456789abcdef"


def _hook(port: int, **extra: object) -> dict[str, object]:
    return {"hook": {"type": "webhook", "url": f"http://127.0.0.1:{port}/in", "secret": SECRET,
                     "backoff_base_s": 10, "backoff_max_s": 600, **extra}}  # fmt: skip


def _open(ws: Workspace) -> inc.Incident:
    return inc.open_incident(ws, feature="menu", title="errors up", actor="monitor:errors", detected_at=T0)


def test_notifications_are_written_with_the_change_and_deduplicated(tmp_path: Path, database_url: str) -> None:
    notifiers = {**_hook(free_port()), "menu-only": {"type": "slack", "webhook_url": "https://hooks.example/x",
                                                     "features": ["search"]}}  # fmt: skip
    with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
        opened = _open(ws)
        inc.advance(ws, opened.id, "mitigated", actor="monitor:errors", action="stop")
        inc.advance(ws, opened.id, "mitigated", actor="monitor:errors", action="stop")
        rows = ws.store.outbox(opened.id)
        assert [(r.stage, r.notifier, r.status) for r in rows] == [
            ("detected", "hook", "pending"), ("mitigated", "hook", "pending"),
        ]  # fmt: skip
        # Writing the same (incident, stage, notifier) again keeps the one row.
        again = NewNotification(opened.id, "detected", "hook", {"feature": "menu"})
        ws.store.enqueue_notifications([again], T0)
        assert len(ws.store.outbox(opened.id)) == 2


def test_a_refused_change_writes_no_notification(tmp_path: Path, database_url: str) -> None:
    with open_workspace(tmp_path / "ws", database_url, notifiers=_hook(free_port())) as ws:
        opened = _open(ws)
        with pytest.raises(inc.IncidentError):
            inc.advance(ws, opened.id, "decided", actor="kim", decision="maybe")
        assert [r.stage for r in ws.store.outbox(opened.id)] == ["detected"]


def test_receiver_down_then_up_gets_each_message_exactly_once(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with open_workspace(tmp_path / "ws", database_url, notifiers=_hook(port)) as ws:
        opened = _open(ws)
        now = T0 + minutes(1)
        assert asyncio.run(deliver_due(ws, now=now)) == 0  # nobody listens on the port
        (row,) = ws.store.outbox(opened.id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at >= now + timedelta(seconds=10)
        assert row.last_error and "ConnectError" in row.last_error
        assert asyncio.run(deliver_due(ws, now=now)) == 0  # not due again yet
        second = row.next_attempt_at
        assert asyncio.run(deliver_due(ws, now=second)) == 0
        (row,) = ws.store.outbox(opened.id)
        assert row.attempts == 2 and row.next_attempt_at - second >= timedelta(seconds=20)  # backed off
        with HttpReceiver(port) as hook:
            assert asyncio.run(deliver_due(ws, now=row.next_attempt_at)) == 1
            assert asyncio.run(deliver_due(ws, now=row.next_attempt_at + minutes(60))) == 0
        assert len(hook.requests) == 1 and hook.requests[0].json()["stage"] == "detected"
        (row,) = ws.store.outbox(opened.id)
        assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)


def test_gives_up_after_max_attempts_and_on_a_permanent_refusal(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver(status=503) as busy, HttpReceiver(status=400) as refuses:
        notifiers = {
            "busy": {"type": "webhook", "url": busy.url, "secret": SECRET, "max_attempts": 3, "backoff_base_s": 1},
            "refuses": {"type": "webhook", "url": refuses.url, "secret": SECRET},
        }
        with open_workspace(tmp_path / "ws", database_url, notifiers=notifiers) as ws:
            opened = _open(ws)
            for hour in range(1, 6):
                asyncio.run(deliver_due(ws, now=T0 + minutes(60 * hour)))
            rows = {r.notifier: r for r in ws.store.outbox(opened.id)}
    assert (rows["busy"].status, rows["busy"].attempts, len(busy.requests)) == ("failed", 3, 3)
    assert (rows["refuses"].status, rows["refuses"].attempts, len(refuses.requests)) == ("failed", 1, 1)
    assert "HTTP 503" in (rows["busy"].last_error or "") and "HTTP 400" in (rows["refuses"].last_error or "")


def test_a_process_that_died_mid_delivery_is_resumed_after_its_lease(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as hook:
        with open_workspace(tmp_path / "ws", database_url, notifiers=_hook(hook.port)) as ws:
            opened = _open(ws)
            # A deliverer claims the row and dies before sending: its lease holds the row for a while.
            claimed = ws.store.claim_notifications(now=T0, token="dead", lease=timedelta(seconds=60))
            assert [r.incident_id for r in claimed] == [opened.id]
            assert asyncio.run(deliver_due(ws, now=T0 + timedelta(seconds=30))) == 0
            assert hook.requests == []
        # A new process (a fresh workspace on the same store) takes it over once the lease ran out.
        with open_workspace(tmp_path / "ws", database_url, notifiers=_hook(hook.port)) as ws:
            assert asyncio.run(deliver_due(ws, now=T0 + timedelta(seconds=61))) == 1
            assert asyncio.run(deliver_due(ws, now=T0 + timedelta(seconds=999))) == 0
    assert len(hook.requests) == 1


def test_a_restarted_process_delivers_what_is_still_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    env = {**os.environ, "ANDON_DATABASE_URL": url, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}

    def deliver() -> str:
        run = subprocess.run([sys.executable, "-m", "andon", "incident", "deliver", "--json"], cwd=tmp_path / "ws",
                             env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert run.returncode == 0, run.stderr
        return run.stdout

    with HttpReceiver() as hook:
        # The process that opened the incident stops before delivering anything.
        with open_workspace(tmp_path / "ws", url, notifiers=_hook(hook.port)) as ws:
            opened = _open(ws)
        assert hook.requests == []
        first = deliver()  # another process, started afresh: `detected`, and `announced` that its delivery made
        assert '"delivered": 2' in first and '"pending": 0' in first
        assert '"delivered": 0' in deliver()
    assert [r.json()["incident_id"] for r in hook.requests] == [opened.id] * 2
    assert [r.json()["stage"] for r in hook.requests] == ["detected", "announced"]


def test_two_deliverers_at_once_send_each_row_once(tmp_path: Path, database_url: str) -> None:
    with HttpReceiver() as hook:
        notifiers = _hook(hook.port)
        with open_workspace(tmp_path / "a", database_url, notifiers=notifiers) as a, \
             open_workspace(tmp_path / "b", database_url, notifiers=notifiers) as b:  # fmt: skip
            ids = [
                inc.open_incident(a, feature="menu", title=f"n{n}", actor="m", detected_at=T0, dedupe_key=f"k{n}").id
                for n in range(12)
            ]

            async def both() -> list[int]:
                return list(
                    await asyncio.gather(deliver_due(a, now=T0 + minutes(1)), deliver_due(b, now=T0 + minutes(1)))
                )

            counts = asyncio.run(both())
    assert sum(counts) == 12
    assert sorted(r.json()["incident_id"] for r in hook.requests) == sorted(ids)


@given(attempts=st.integers(min_value=1, max_value=60), base=st.floats(0.01, 100), cap=st.floats(1, 10_000))
def test_backoff_grows_and_stays_under_its_cap(attempts: int, base: float, cap: float) -> None:
    config = WebhookNotifierConfig.model_validate(
        {"type": "webhook", "url": "https://x.example", "secret": SECRET, "backoff_base_s": base, "backoff_max_s": cap}
    )
    now, after = backoff(config, attempts, "k"), backoff(config, attempts + 1, "k")
    floor = min(base * 2.0 ** (attempts - 1), cap)
    assert floor <= now <= floor * 1.1
    assert min(base * 2.0**attempts, cap) <= after
    assert backoff(config, attempts, "k") == now  # deterministic
