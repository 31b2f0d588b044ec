"""The test shop of the approval tests: its tools module, the refunds it recorded, and calls into its workspace."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from andon.gateway.service import Gateway
from andon.gateway.types import Caller, InvokeResult
from andon.workspace import Workspace

TOOLS_MODULE = '''\
"""Tools of the test shop: a refund leaves a row in refunds.sqlite beside this file."""
import pathlib
import sqlite3

DB = pathlib.Path(__file__).with_name("refunds.sqlite")


def refund(order_id, amount):
    db = sqlite3.connect(DB)
    try:
        with db:
            db.execute("create table if not exists refunds (order_id text, amount integer)")
            db.execute("insert into refunds values (?, ?)", (order_id, amount))
    finally:
        db.close()
    return {"refunded": amount, "order_id": order_id}


def lookup_order(order_id):
    return {"order_id": order_id, "status": "delivered", "paid": 12000}
'''
LOOKUP = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}


def refunds(root: Path) -> list[tuple[str, int]]:
    """The refunds the shop's tool wrote, in order."""
    path = root / "refunds.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [(str(a), int(b)) for a, b in db.execute("select order_id, amount from refunds")]
    finally:
        db.close()


def invoke(root: Path, database_url: str | None, feature: str, text: str) -> InvokeResult:
    """One call through the gateway's invoke path, in a gateway that is stopped afterwards."""

    async def once() -> InvokeResult:
        with Workspace.open(root, database_url=database_url) as ws:
            gateway = Gateway(ws, prune_interval_s=None)
            await gateway.start()
            try:
                return await gateway.invoke(feature, {"input": text}, Caller(user_id="buyer-1"), version="v1")
            finally:
                await gateway.stop()
                await ws.aclose_providers()

    return asyncio.run(once())


def andon_cli(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """``andon ARGS`` in another process, run in the workspace (whose tools module it imports)."""
    env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": database_url, "USER": "minji"}
    env.pop("ANDON_WORKSPACE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def stored_steps(root: Path, database_url: str | None, trace_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A trace and the steps of its output, as stored."""
    with Workspace.open(root, database_url=database_url) as ws:
        trace = ws.store.get_trace(trace_id)
        return trace, ws.store.get_output(trace["output_id"]).steps
