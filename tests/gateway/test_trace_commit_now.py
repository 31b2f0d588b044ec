"""The trace writer waits for batch-mates only while announced calls are on their way: a lone call commits at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from andon.gateway.tracing import TraceWriter
from andon.store import Store
from andon.store.records import TraceRecord, new_id

HOUR_MS = 3_600_000  # a window far longer than any test: only the announcements can end a wait early


def make_trace() -> TraceRecord:
    return TraceRecord(
        id=new_id("trc"), feature="menu", route="ai", status="ok", input_mode="redacted", input={"d": "x"},
        input_hash="0" * 64, created_at=datetime.now(UTC), version_id="v" * 64, version_name="v1", output_text="ok",
    )  # fmt: skip


async def announced_call(writer: TraceWriter, *, writes: bool = True, before: asyncio.Event | None = None) -> None:
    with writer.expecting():
        if before is not None:
            await before.wait()
        if writes:
            await writer.write(make_trace())


async def test_a_lone_announced_call_commits_without_waiting_out_the_window(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=HOUR_MS)
    await writer.start()
    try:
        for _ in range(3):  # back to back, as one sequential client sends them
            await asyncio.wait_for(announced_call(writer), 60)
    finally:
        await writer.stop()
    assert writer.stats.commits == 3
    assert writer.stats.traces == 3


async def test_a_trace_waits_for_an_announced_call_and_shares_its_commit(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=HOUR_MS)
    await writer.start()
    release = asyncio.Event()
    try:
        first = asyncio.create_task(announced_call(writer))
        second = asyncio.create_task(announced_call(writer, before=release))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not first.done()  # its batch-mate is announced and still on its way
        assert writer.stats.commits == 0
        release.set()
        await asyncio.wait_for(asyncio.gather(first, second), 60)
    finally:
        await writer.stop()
    assert writer.stats.commits == 1
    assert writer.stats.largest_batch == 2


async def test_an_announced_call_that_writes_nothing_releases_the_waiting_trace(store: Store) -> None:
    writer = TraceWriter(store, group_commit_ms=HOUR_MS)
    await writer.start()
    release = asyncio.Event()
    try:
        first = asyncio.create_task(announced_call(writer))
        refused = asyncio.create_task(announced_call(writer, writes=False, before=release))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not first.done()
        release.set()  # the second call ends without a trace (refused before its provider call)
        await asyncio.wait_for(asyncio.gather(first, refused), 60)
    finally:
        await writer.stop()
    assert (writer.stats.commits, writer.stats.traces) == (1, 1)


async def test_a_task_started_inside_a_call_does_not_use_up_its_announcement(store: Store) -> None:
    # A shadow probe is a task created during the call: its trace must not count as the call's own.
    writer = TraceWriter(store, group_commit_ms=HOUR_MS)
    await writer.start()
    release = asyncio.Event()
    try:

        async def call_with_probe() -> None:
            with writer.expecting():
                probe = asyncio.create_task(writer.write(make_trace()))
                await release.wait()
                await writer.write(make_trace())
                await probe

        task = asyncio.create_task(call_with_probe())
        for _ in range(20):
            await asyncio.sleep(0)
        assert writer.stats.commits == 0  # the probe's trace waits: the call itself is still announced
        release.set()
        await asyncio.wait_for(task, 60)
    finally:
        await writer.stop()
    assert (writer.stats.commits, writer.stats.traces) == (1, 2)
