"""Scale-out as users run it: three `andon serve` replicas behind a real nginx against one PostgreSQL. Under
load no acknowledged trace is lost or duplicated, even when one replica is SIGKILLed mid-load; the answer
cache and the review queue are shared by every replica."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.support.gateway_server import GatewayServer, write_workspace
from tests.support.nginx import Nginx

from andon.deploy import stop_feature
from andon.store import Store
from andon.store.models import TraceRow
from andon.workspace import Workspace

pytestmark = [pytest.mark.timeout(600), pytest.mark.postgres]

CACHED = {"cache": {"enabled": True, "semantic": False}, "data_use": {"inputs": "full"}}
FEATURES = {"cached": {"versions": {"v1": {"python": "gw_rules:echo"}}, "serve": CACHED}}


@pytest.fixture
def postgres_url(postgres_server: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database (the replicas need one server they all reach)."""
    from tests.conftest import create_postgres_database, drop_postgres_database

    url = create_postgres_database(postgres_server)  # type: ignore[arg-type]
    try:
        yield url
    finally:
        drop_postgres_database(postgres_server, url)  # type: ignore[arg-type]


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[tuple[list[GatewayServer], Nginx, Path]]:
    Store.open(postgres_url).close()  # migrate once, before three processes start
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False}, features=FEATURES)
    servers = [GatewayServer(ws, database_url=postgres_url, promote=i == 0) for i in range(3)]
    try:
        for server in servers:
            server.start()
        with Nginx(tmp_path / "nginx", [s.port for s in servers]) as proxy:
            yield servers, proxy, ws
    finally:
        for server in servers:
            server.stop()


def _load(proxy: Nginx, start: int, count: int, acked: dict[int, str], failed: list[int], at: list[float]) -> None:
    """``count`` calls, each with its own number; the trace id of every acknowledged (200) one, and when."""
    with httpx.Client(base_url=proxy.base_url, timeout=30) as http:
        for n in range(start, start + count):
            try:
                response = http.post("/v1/features/echo/invoke", json={"variables": {"text": f"call {n}"},
                                                                       "tags": {"n": str(n)}})  # fmt: skip
            except httpx.TransportError:
                failed.append(n)
                continue
            if response.status_code == 200:
                acked[n] = response.json()["trace_id"]
                at.append(time.monotonic())
            else:
                failed.append(n)


def test_a_replica_killed_under_load_loses_no_acknowledged_trace(
    replicas: tuple[list[GatewayServer], Nginx, Path], postgres_url: str
) -> None:
    servers, proxy, _ws = replicas
    acked: dict[int, str] = {}
    failed: list[int] = []
    at: list[float] = []
    threads = [threading.Thread(target=_load, args=(proxy, i * 1000, 150, acked, failed, at)) for i in range(6)]
    for thread in threads:
        thread.start()
    while len(at) < 150:  # under load first
        time.sleep(0.01)
    servers[1].kill()  # SIGKILL: no shutdown code runs, whatever it held in memory is gone
    killed_at = time.monotonic()
    for thread in threads:
        thread.join()
    assert sum(1 for t in at if t > killed_at) >= 300  # the load went on through the kill
    # Only calls in flight on the killed replica may fail (nginx does not resend a POST it sent); the rest
    # went to the other two.
    assert len(acked) >= 900 - 50 and len(failed) <= 50, (len(acked), failed[:10])
    with Store.open(postgres_url) as store, store.engine.connect() as conn:
        rows = conn.execute(select(TraceRow.id, TraceRow.tags).where(TraceRow.feature == "echo")).all()
        per_call = conn.execute(
            select(func.count()).select_from(TraceRow).where(TraceRow.feature == "echo")
        ).scalar_one()
    stored = {row.id: row.tags["n"] for row in rows}
    assert set(acked.values()) <= set(stored)  # every acknowledged trace is durable
    assert all(stored[trace] == str(n) for n, trace in acked.items())  # ... and is the call it acknowledged
    numbers = list(stored.values())
    assert len(numbers) == len(set(numbers)) == per_call  # no call traced twice
    # After the kill the proxy serves on: the next calls all succeed.
    with httpx.Client(base_url=proxy.base_url, timeout=30) as http:
        assert all(http.post("/v1/features/echo/invoke", json={}).status_code == 200 for _ in range(12))


def test_the_cache_and_the_review_queue_are_shared_by_every_replica(
    replicas: tuple[list[GatewayServer], Nginx, Path], postgres_url: str
) -> None:
    servers, _proxy, ws = replicas
    body = {"variables": {"text": "같은 질문"}}
    first = httpx.post(f"{servers[0].base_url}/v1/features/cached/invoke", json=body, timeout=30).json()
    assert not first["cached"]
    for other in servers[1:]:  # the answer another replica cached is served from the shared store
        again = httpx.post(f"{other.base_url}/v1/features/cached/invoke", json=body, timeout=30).json()
        assert again["cached"] and again["output_json"] == first["output_json"]
    with Workspace.open(ws, database_url=postgres_url) as opened:
        stop_feature(opened, "echo", reason="scale-out test: the cord", actor="tests")
    deadline = time.monotonic() + 30
    routes: list[str] = []
    while time.monotonic() < deadline:  # each replica sees the stop (it reads the stop state from the store)
        routes = [httpx.post(f"{s.base_url}/v1/features/echo/invoke", json={}, timeout=30).json()["route"]
                  for s in servers]  # fmt: skip
        if set(routes) == {"human"}:
            break
        time.sleep(0.5)
    assert set(routes) == {"human"}, routes
    queued = [httpx.get(f"{s.base_url}/v1/reviews", params={"feature": "echo"}, timeout=30).json() for s in servers]
    ids = [sorted(item["id"] for item in page["items"]) for page in queued]
    assert len(ids[0]) >= 3 and ids[0] == ids[1] == ids[2]  # one queue, whichever replica is asked
