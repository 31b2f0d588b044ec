"""The watcher of a long-running ``andon serve --watch``: it follows edits of andon.yaml, monitors and notifiers.

The watcher reads andon.yaml once; a server that runs for weeks would otherwise keep watching the monitors and
notifying the receivers it started with. Here the file is checked every few seconds; a valid edit swaps in a
new watcher over the same store (detector states and leases live there, so nothing is learned again), an
invalid one is logged once with its file:line and the current watcher goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path

from andon.config.loader import load_config
from andon.errors import AndonError
from andon.messages import t
from andon.watch.monitors import build_monitors
from andon.watch.watcher import Watcher, deliver_until
from andon.workspace import Workspace

__all__ = ["CHECK_INTERVAL_S", "watch_reloading"]

log = logging.getLogger("andon.watch")

CHECK_INTERVAL_S = 2.0


def _digest(path: Path) -> str | None:
    """sha256 of the file; None while it is missing (an editor replacing it)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _reloaded(ws: Workspace, *, deliver_only: bool) -> Workspace:
    """A workspace on the edited andon.yaml over ``ws``'s store; raises AndonError if it or a monitor is invalid."""
    loaded = load_config(ws.loaded.path)
    fresh = Workspace(loaded, ws.store)
    if not deliver_only:
        build_monitors(fresh.config, path=loaded.path)  # a broken monitor must not replace working ones
    return fresh


async def watch_reloading(
    ws: Workspace, stop: asyncio.Event, *, deliver_only: bool = False, interval_s: float = CHECK_INTERVAL_S
) -> None:
    """Watch (or, ``deliver_only``, deliver the outbox) until ``stop``; a valid edit of andon.yaml takes over."""
    current, digest, rejected = ws, _digest(ws.loaded.path), None
    while not stop.is_set():
        restart = asyncio.Event()
        following: Workspace | None = None
        async with Watcher(current, monitors={} if deliver_only else None) as watcher:
            task = asyncio.create_task(deliver_until(current, restart) if deliver_only else watcher.run(restart))
            while not stop.is_set() and not task.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval_s)
                seen = await asyncio.to_thread(_digest, current.loaded.path)
                if seen is None or seen in (digest, rejected):
                    continue
                try:
                    following = await asyncio.to_thread(_reloaded, current, deliver_only=deliver_only)
                except AndonError as exc:
                    rejected = seen  # logged once, until the file changes again
                    where = f"{exc.where}: " if exc.where else ""
                    log.error(t("cord.reload.rejected", error=f"{where}{exc.message}"))
                    continue
                digest, rejected = seen, None
                break
            restart.set()
            await task
        if following is None:
            return
        if current is not ws:
            await current.aclose_providers()
        current = following
        log.info(t("cord.reload.done", path=current.loaded.path, monitors=len(current.config.monitors),
                   notifiers=len(current.config.notifiers)))  # fmt: skip
    if current is not ws:
        await current.aclose_providers()
