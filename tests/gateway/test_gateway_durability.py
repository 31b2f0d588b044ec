"""A 2xx means the trace is committed: SIGKILL the server under load and find every acknowledged trace."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.store import Store
from andon.store.models import TraceRow

pytestmark = pytest.mark.timeout(300)

THREADS = 6
MIN_ACKNOWLEDGED = 150  # enough acknowledged calls that group commits batch several traces together


def test_every_acknowledged_trace_survives_sigkill(tmp_path: Path, database_url: str) -> None:
    Store.open(database_url).close()
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False})
    server = GatewayServer(ws, database_url=database_url, log_json=False).start()
    acknowledged: list[str] = []
    cut_off = 0  # requests in flight when the server died
    unexpected: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def hammer(worker: int) -> None:
        nonlocal cut_off
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            for i in range(1_000_000):
                try:
                    response = http.post("/v1/features/echo/invoke", json={"variables": {"text": f"{worker}-{i}"}})
                except httpx.TransportError as exc:
                    with lock:
                        if killed.is_set():
                            cut_off += 1
                        else:
                            unexpected.append(repr(exc))
                    return
                with lock:
                    if response.is_success:
                        trace_id = response.json()["trace_id"]
                        acknowledged.append(trace_id)
                        if response.headers["x-andon-trace-id"] != trace_id:
                            unexpected.append(f"header {response.headers['x-andon-trace-id']} != body {trace_id}")
                    else:
                        unexpected.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=hammer, args=(n,), daemon=True) for n in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < MIN_ACKNOWLEDGED and time.monotonic() < deadline and not unexpected:
            time.sleep(0.05)
        time.sleep(0.5)  # well into the load, every thread with a call in flight
        with lock:
            killed.set()
        server.kill()
    finally:
        server.kill()
        for thread in threads:
            thread.join(timeout=60)

    assert not unexpected, unexpected[:5]
    assert len(acknowledged) >= MIN_ACKNOWLEDGED
    assert cut_off >= 1  # the kill really landed mid-load
    with Store.open(database_url) as store, store.engine.connect() as conn:
        stored: set[str] = set()
        for start in range(0, len(acknowledged), 500):
            chunk = acknowledged[start : start + 500]
            stored.update(conn.scalars(select(TraceRow.id).where(TraceRow.id.in_(chunk))))
    missing = sorted(set(acknowledged) - stored)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged traces lost: {missing[:5]}"
