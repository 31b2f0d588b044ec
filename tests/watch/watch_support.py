"""What the watch tests share: workspaces with monitors, traces by hand, incidents as stored, a loopback receiver."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from andon.store import Store
from andon.store.incidents import IncidentRecord
from andon.store.records import TraceRecord, new_id
from andon.watch.incidents import STAGES
from andon.workspace import Workspace

RULES = '''\
"""Rules of the watch test workspace."""


def decide(variables):
    """Answer with the decision the caller asked for (so a test shifts the outputs at will)."""
    return {"decision": variables.get("decision", "approve")}


def decide_v2(variables):
    """The same, as a second version (another id)."""
    return {"decision": variables.get("decision", "approve")}
'''


def incident_rows(where: Workspace | Store, feature: str = "menu") -> list[IncidentRecord]:
    """The feature's incidents as stored, oldest first."""
    store = where.store if isinstance(where, Workspace) else where
    return list(reversed(store.list_incidents(feature=feature)))


def stages_of(incident: IncidentRecord) -> list[str]:
    """The stages an incident reached, in the order of STAGES."""
    return sorted(incident.stages, key=STAGES.index)


def actors_of(incident: IncidentRecord) -> dict[str, str]:
    """Stage -> who moved the incident there."""
    return {stage: str(mark["actor"]) for stage, mark in incident.stages.items()}


def write_workspace(root: Path, monitors: Mapping[str, Any], *, features: Mapping[str, Any] | None = None) -> Path:
    """andon.yaml (JSON is YAML) with a ``menu`` feature (a python rule) plus ``features``, and ``monitors``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "watch_rules.py").write_text(RULES, encoding="utf-8")
    all_features: dict[str, Any] = {"menu": {"versions": {"v1": {"python": "watch_rules:decide"}}}}
    all_features.update(features or {})
    config = {"andon": 1, "name": "watch-test", "features": all_features, "monitors": dict(monitors)}
    (root / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return root


def write_yaml(root: Path, text: str) -> Path:
    """andon.yaml from YAML text (dedented), beside the rules file; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "watch_rules.py").write_text(RULES, encoding="utf-8")
    path = root / "andon.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def open_ws(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """``open_ws(monitors, features=None)``: a workspace on each backend, closed at the end."""
    opened: list[Workspace] = []

    def make(monitors: Mapping[str, Any], features: Mapping[str, Any] | None = None) -> Workspace:
        root = write_workspace(tmp_path / f"ws{len(opened)}", monitors, features=features)
        ws = Workspace.open(root, database_url=database_url)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


def trace(
    feature: str,
    at: datetime,
    *,
    decision: str | None = "approve",
    latency_ms: float = 100.0,
    error_code: str | None = None,
    route: str = "ai",
    cost: float | None = 0.001,
    cache: str | None = None,
    provider: str | None = "stub",
    tags: dict[str, Any] | None = None,
) -> TraceRecord:
    """A trace as the gateway stores it (``provider=None`` and ``route='human'``: a stopped feature's call)."""
    failed = error_code is not None
    return TraceRecord(
        id=new_id("trc"),
        feature=feature,
        route=route,
        status="error" if failed else ("queued" if route == "human" else "ok"),
        input_mode="hash",
        input=None,
        input_hash="0" * 64,
        created_at=at,
        output_json=None if failed or decision is None else {"decision": decision, "items": [{"label": decision}]},
        error_code=error_code,
        provider=provider,
        latency_ms=latency_ms,
        cost=cost,
        cache=cache,
        tags=tags or {},
    )


class Receiver:
    """A loopback HTTP receiver (raw asyncio): answers ``status`` and records each request's headers and JSON."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], Any, int]] = []  # (headers, body, status answered)
        self._server: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/flags"

    @property
    def delivered(self) -> list[Any]:
        """Bodies that were answered with a 2xx."""
        return [body for _, body, status in self.received if status < 300]

    async def __aenter__(self) -> Receiver:
        import asyncio

        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: Any, writer: Any) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.status
        self.received.append((headers, json.loads(body) if body else None, status))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode())
        await writer.drain()
        writer.close()
