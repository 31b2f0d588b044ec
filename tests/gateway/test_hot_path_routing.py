"""A feature call reads its state, rollout and experiment in ONE worker-thread hop, still fresh on every call.

Real store (SQLite in a temp folder), real gateway and trace writer; the feature is a python rule (no model).
The store is wrapped only to count which reads happen and in which thread hop.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.gateway_server import promote_declared, write_workspace

from andon.gateway.service import Gateway
from andon.gateway.types import Caller
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

CALLER = Caller(api_key_id=None, scopes=frozenset({"invoke"}), user_id="u1")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    folder = write_workspace(tmp_path / "ws")
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    promote_declared(folder, url)
    sys.path.insert(0, str(folder))  # the python rules (gw_rules.py) live in the workspace
    try:
        with Workspace.open(folder, database_url=url) as ws:
            yield ws
    finally:
        sys.path.remove(str(folder))


class Reads:
    """Records (method, hop) of the store reads the routing makes; a hop is one ``asyncio.to_thread`` call."""

    def __init__(self, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[str, int | None]] = []
        self._local = threading.local()
        hops = itertools.count()
        real_to_thread = asyncio.to_thread

        async def to_thread(func: Any, /, *args: Any, **kwargs: Any) -> Any:
            hop = next(hops)

            def numbered() -> Any:
                self._local.hop = hop
                try:
                    return func(*args, **kwargs)
                finally:
                    self._local.hop = None

            return await real_to_thread(numbered)

        monkeypatch.setattr(asyncio, "to_thread", to_thread)
        for name in ("latest_live", "active_rollout", "active_experiment"):
            monkeypatch.setattr(ws.store, name, self._spy(name, getattr(ws.store, name)))

    def _spy(self, name: str, real: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.seen.append((name, getattr(self._local, "hop", None)))
            return real(*args, **kwargs)

        return spy


def _invoke_twice(ws: Workspace, reads: Reads, **options: Any) -> tuple[list[Any], Any]:
    async def run() -> tuple[list[Any], Any]:
        gateway = Gateway(ws, prune_interval_s=None, **options)
        await gateway.start()
        reads.seen.clear()  # start() checks what is live once; only the calls' reads count
        try:
            results = [await gateway.invoke("echo", {"text": f"call {i}"}, CALLER) for i in range(2)]
            return results, gateway
        finally:
            await gateway.stop()

    return asyncio.run(run())


def test_each_call_reads_state_rollout_and_experiment_in_one_hop(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(workspace, monkeypatch)
    results, _ = _invoke_twice(workspace, reads)
    assert [r.status for r in results] == ["ok", "ok"]
    assert results[0].output_json == {"echo": "CALL 0", "variables": ["text"]}
    names = [name for name, _ in reads.seen]
    # Fresh on every call (state_ttl_s 0: a promotion, rollout or experiment counts from the next call)...
    assert names == ["latest_live", "active_rollout", "active_experiment"] * 2
    # ...and each call's three reads happen in one thread hop, not one hop each (never on the event loop).
    hops = [hop for _, hop in reads.seen]
    assert None not in hops
    assert len(set(hops[:3])) == 1 and len(set(hops[3:])) == 1 and hops[0] != hops[3]


def test_a_pinned_version_reads_no_rollout_or_experiment(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(workspace, monkeypatch)

    async def run() -> Any:
        gateway = Gateway(workspace, prune_interval_s=None)
        await gateway.start()
        reads.seen.clear()
        try:
            return await gateway.invoke("echo", {"text": "x"}, CALLER, version="v1")
        finally:
            await gateway.stop()

    result = asyncio.run(run())
    assert result.status == "ok" and result.version_name == "v1"
    assert [name for name, _ in reads.seen] == ["latest_live"]  # the caller chose: no split is consulted


def test_cached_state_keeps_rollout_and_experiment_on_their_own_cache(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(workspace, monkeypatch)
    results, _ = _invoke_twice(workspace, reads, state_ttl_s=60.0)
    assert [r.status for r in results] == ["ok", "ok"]
    # First call reads all three (in one hop); the second is served from the caches: no read at all.
    assert [name for name, _ in reads.seen] == ["latest_live", "active_rollout", "active_experiment"]
