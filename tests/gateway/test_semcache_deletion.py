"""Deleting a user's traces takes their cached answers out of a running gateway: the store, and its memory.

Through the real gateway on loopback: a paraphrase is served from bob's cached answer until bob's traces are
deleted (over HTTP, or with `andon privacy delete-user` from another process), and never after. In process,
the same app's in-memory index is checked to hold none of bob's text once the route has run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from tests.support.gateway_server import GatewayServer, promote_declared, write_workspace

from andon.gateway.app import create_app
from andon.gateway.auth import create_key
from andon.gateway.semcache.cache import SemanticCache
from andon.store import Store
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

ASKED = "주문을 취소하고 싶어요"
PARAPHRASE = "주문 취소하고 싶어요"
FEATURES = {
    "faq": {
        "versions": {"v1": {"python": "gw_rules:echo"}},
        "serve": {"cache": {"enabled": True, "threshold": 0.8}, "data_use": {"inputs": "full"}},
    }
}


def _workspace(tmp_path: Path) -> tuple[Path, str, dict[str, str], dict[str, str]]:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    ws = write_workspace(tmp_path / "ws", features=FEATURES)
    with Store.open(db) as store:
        app = {"authorization": f"Bearer {create_key(store, 'app', ['invoke'], None)[1]}"}
        backend = {"authorization": f"Bearer {create_key(store, 'backend', ['privacy'], None)[1]}"}
    return ws, db, app, backend


def _ask(http: httpx.Client, headers: dict[str, str], text: str, user: str) -> dict[str, Any]:
    answer = http.post("/v1/features/faq/invoke", json={"variables": {"text": text}, "user_id": user}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_deleted_users_answers_are_not_served_by_the_running_gateway(tmp_path: Path) -> None:
    ws, db, app, backend = _workspace(tmp_path)
    with GatewayServer(ws, database_url=db) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        first = _ask(http, app, ASKED, "bob")
        assert first["cached"] is None
        served = _ask(http, app, PARAPHRASE, "carol")
        assert served["cached"] == "semantic"  # the index holds bob's answer and serves it
        deleted = http.delete("/v1/users/bob/traces", headers=backend)
        assert deleted.status_code == 200 and deleted.json()["cache_entries"] == 1, deleted.text
        assert _ask(http, app, PARAPHRASE, "dave")["cached"] is None
        assert _ask(http, app, ASKED, "erin")["cached"] is None  # nor the exact question

        # Deleted by the CLI in another process: the gateway's memory learns it on the next lookup.
        _ask(http, app, "배달이 너무 늦어요", "frank")
        assert _ask(http, app, "배달 너무 늦어요", "gina")["cached"] == "semantic"
        env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": db}
        done = subprocess.run(
            [sys.executable, "-m", "andon", "--workspace", str(ws), "privacy", "delete-user", "frank", "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {
            "user": "frank", "traces": 1, "outputs": 1, "feedback": 0, "review_items": 0, "cache_entries": 1,
        }  # fmt: skip
        assert _ask(http, app, "배달 너무 늦어요", "hana")["cached"] is None


def _holds(cache: SemanticCache, text: str) -> bool:
    """Whether the cache's memory (index rows, or embeddings keyed by request text) holds ``text``."""
    rows = [row for index in cache._indexes.values() for row in index.texts[: index.size]]
    return any(text in row for row in [*rows, *cache._memo])


def test_the_route_drops_the_deleted_entries_from_the_apps_memory(tmp_path: Path) -> None:
    ws_path, db, app_headers, backend = _workspace(tmp_path)
    promote_declared(ws_path, db)
    with Workspace.open(ws_path, database_url=db) as ws, TestClient(create_app(ws)) as http:
        _ask(http, app_headers, ASKED, "bob")  # type: ignore[arg-type]
        _ask(http, app_headers, "환불은 언제 되나요", "carol")  # type: ignore[arg-type]
        assert _ask(http, app_headers, PARAPHRASE, "dave")["cached"] == "semantic"  # type: ignore[arg-type]
        cache = http.app.state.gateway.answer_cache  # type: ignore[attr-defined]
        assert isinstance(cache, SemanticCache) and _holds(cache, ASKED)
        assert http.delete("/v1/users/bob/traces", headers=backend).json()["cache_entries"] == 1
        assert not _holds(cache, ASKED) and _holds(cache, "환불은 언제 되나요")


async def test_an_entry_deleted_elsewhere_leaves_the_index_at_its_first_miss(tmp_path: Path) -> None:
    with Workspace.open(write_workspace(tmp_path / "ws", features=FEATURES), database_url=None) as ws:
        cache = SemanticCache(ws.store, ws.config)
        version = ws.version("faq").id
        await cache.store("faq", version, "", {"text": ASKED}, "취소해 드릴게요", None, "trc_1")
        found = await cache.lookup("faq", version, "", {"text": PARAPHRASE})
        assert found is not None and found.hit == "semantic"
        assert ws.store.semcache_clear("faq") == 1  # as another process's deletion would
        assert await cache.lookup("faq", version, "", {"text": PARAPHRASE}) is None
        assert not _holds(cache, ASKED)
