"""`andon serve --watch` follows andon.yaml: a notifier added while it runs gets the next incident's stages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.support.incidents import open_workspace, write_workspace
from tests.support.receivers import HttpReceiver

from andon.deploy import pull_cord
from andon.watch.reloading import watch_reloading
from andon.workspace import Workspace

SECRET = "reload-secret-0123456789"


async def _until(check: object, *, limit_s: float = 30.0) -> bool:
    """Poll ``check()`` every 0.1 s until it holds (False if it never does within ``limit_s``)."""
    for _ in range(int(limit_s * 10)):
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_notifier_added_while_watching_gets_the_next_incident(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "ws"
    ws = open_workspace(folder, database_url)
    stop = asyncio.Event()
    with HttpReceiver() as hook:
        task = asyncio.create_task(watch_reloading(ws, stop, interval_s=0.1))
        try:
            await asyncio.sleep(0.3)
            write_workspace(folder, notifiers={"audit": {"type": "webhook", "url": hook.url + "/a", "secret": SECRET}})
            # as `andon stop` would: another process, reading the edited andon.yaml
            other = Workspace.open(folder, database_url=database_url)
            try:
                await pull_cord(other, "menu", action="stop", actor="operator", reason="rejects up")
            finally:
                other.store.close()
            assert await _until(lambda: any(r.json()["stage"] == "detected" for r in hook.requests))
        finally:
            stop.set()
            await task
            ws.store.close()
    assert [r.json()["stage"] for r in hook.requests].count("detected") == 1


async def test_an_invalid_edit_keeps_the_watcher_going(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "ws"
    ws = open_workspace(folder, database_url)
    stop = asyncio.Event()
    task = asyncio.create_task(watch_reloading(ws, stop, interval_s=0.1))
    try:
        config = json.loads((folder / "andon.yaml").read_text(encoding="utf-8"))
        config["monitors"] = {"broken": {"feature": "menu", "metric": "no_such_metric", "detector": {}}}
        (folder / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
        await asyncio.sleep(0.5)
        assert not task.done()
    finally:
        stop.set()
        await task
        ws.store.close()
