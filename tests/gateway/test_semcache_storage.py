"""What the answer cache keeps follows the feature's ``data_use``, and one API key never sees another's answers.

Issue 17 item 1: with the default ``inputs: redacted`` the ``semantic_cache`` table kept raw inputs and
answers, and with no tenant sent they were served across API keys. Real store (SQLite and PostgreSQL), the
real offline embedder, and a gateway over the loopback stub for the end-to-end check.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from bench.stub import StubServer
from sqlalchemy import inspect, text
from tests.support.gateway_server import promote_declared

from andon.config.schema import WorkspaceConfig
from andon.gateway.semcache.cache import SemanticCache
from andon.gateway.service import Gateway
from andon.gateway.types import Caller
from andon.store import Store
from andon.store.db import alembic_config
from andon.workspace import Workspace

# One of each kind the redactor knows, and a second value of the same kind.
PERSONAL = {
    "rrn": ("900101-1234568", "851231-2345678"),
    "phone": ("010-1234-5678", "010-9876-5432"),
    "email": ("kim@example.com", "lee@example.org"),
    "card": ("4111 1111 1111 1111", "5500 0000 0000 0004"),
    "api_key": ("sk-abcdefghijklmnop1234", "sk-zyxwvutsrqponml9876"),
}


def config(**data_use: Any) -> WorkspaceConfig:
    """Features: ``faq`` (cache on, ``data_use`` as given), ``shared`` (answers shared across API keys)."""
    version = {"provider": "stub", "prompt": "{{ question }}"}
    cache = {"enabled": True, "threshold": 0.5}
    return WorkspaceConfig.model_validate(
        {
            "providers": {"stub": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}},
            "features": {
                "faq": {"versions": {"v1": version}, "serve": {"cache": cache, "data_use": data_use}},
                "shared": {"versions": {"v1": version}, "serve": {"cache": {**cache, "share_across_keys": True}}},
            },
        }
    )


def dump(store: Store) -> str:
    """Every column of every cache row, as one string (what anyone reading the table sees)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM semantic_cache")).mappings().all()
    return json.dumps(
        [{k: (v.hex() if isinstance(v, bytes | memoryview) else str(v)) for k, v in r.items()} for r in rows],
        ensure_ascii=False,
    )


@pytest.mark.parametrize("kind", sorted(PERSONAL))
async def test_an_answer_holding_personal_data_is_not_cached_under_redacted(store: Store, kind: str) -> None:
    value, _ = PERSONAL[kind]
    cache = SemanticCache(store, config())  # the default: inputs redacted
    await cache.store("faq", "v1", "", {"question": value}, f"확인했습니다: {value}", {"echo": value}, "trc_1")
    assert store.semcache_count() == 0  # a redacted answer cannot be served back, so nothing is kept
    assert value not in dump(store)
    assert await cache.lookup("faq", "v1", "", {"question": value}) is None
    assert cache.stats["skipped_personal"] == 1


@pytest.mark.parametrize("kind", sorted(PERSONAL))
async def test_a_request_holding_personal_data_is_kept_redacted_and_exact_only(store: Store, kind: str) -> None:
    value, other = PERSONAL[kind]
    cache = SemanticCache(store, config())
    asked = {"question": f"{value} 로 결과를 알려 주세요"}
    await cache.store("faq", "v1", "", asked, "네, 알려 드릴게요", None, "trc_1")
    assert store.semcache_count() == 1
    stored = dump(store)
    assert value not in stored and "[" in stored  # the redactor's marker stands in its place
    assert store.semcache_index_rows("faq", "v1", "") == []  # no embedding: exact matches only
    found = await cache.lookup("faq", "v1", "", asked)
    assert found is not None and found.hit == "exact" and found.output_text == "네, 알려 드릴게요"
    # Another person's data redacts to the same text: it must not be served (not exact, not semantic).
    assert await cache.lookup("faq", "v1", "", {"question": f"{other} 로 결과를 알려 주세요"}) is None
    assert await cache.lookup("faq", "v1", "", {"question": f"{value} 로 결과를 알려 주세요!"}) is None


async def test_a_request_without_personal_data_is_still_a_semantic_entry(store: Store) -> None:
    cache = SemanticCache(store, config())
    await cache.store("faq", "v1", "", {"question": "주문을 취소하고 싶어요"}, "취소 방법: …", None, "trc_1")
    assert len(store.semcache_index_rows("faq", "v1", "")) == 1
    found = await cache.lookup("faq", "v1", "", {"question": "주문 취소하고 싶어요"})
    assert found is not None and found.hit == "semantic"


async def test_hash_mode_keeps_no_input_text_and_no_personal_answers(store: Store) -> None:
    cache = SemanticCache(store, config(inputs="hash"))
    value = PERSONAL["rrn"][0]
    await cache.store("faq", "v1", "", {"question": value}, f"확인: {value}", None, "trc_1")
    await cache.store("faq", "v1", "", {"question": f"{value} 확인"}, "확인했습니다", None, "trc_2")
    assert store.semcache_count() == 1 and value not in dump(store)
    assert await cache.lookup("faq", "v1", "", {"question": f"{value} 확인"}) is not None


async def test_full_mode_keeps_inputs_and_answers_as_they_are(store: Store) -> None:
    cache = SemanticCache(store, config(inputs="full"))
    value = PERSONAL["phone"][0]
    await cache.store("faq", "v1", "", {"question": value}, f"번호: {value}", None, "trc_1")
    assert value in dump(store)
    found = await cache.lookup("faq", "v1", "", {"question": value})
    assert found is not None and found.output_text == f"번호: {value}"


# --- isolation by API key -------------------------------------------------------------------------------


async def test_answers_are_isolated_per_api_key(store: Store) -> None:
    cache = SemanticCache(store, config())
    await cache.store(
        "faq", "v1", "", {"question": "주문을 취소하고 싶어요"}, "a's answer", None, "trc_1", api_key="key_a"
    )
    for question in ("주문을 취소하고 싶어요", "주문 취소하고 싶어요"):  # exact, then semantic
        assert await cache.lookup("faq", "v1", "", {"question": question}, api_key="key_b") is None
        assert await cache.lookup("faq", "v1", "", {"question": question}) is None  # nor to a caller without a key
        found = await cache.lookup("faq", "v1", "", {"question": question}, api_key="key_a")
        assert found is not None and found.output_text == "a's answer"


async def test_a_feature_may_share_answers_across_api_keys_but_never_across_tenants(store: Store) -> None:
    cache = SemanticCache(store, config())
    await cache.store(
        "shared", "v1", "shop", {"question": "주문을 취소하고 싶어요"}, "answer", None, "trc_1", api_key="key_a"
    )
    found = await cache.lookup("shared", "v1", "shop", {"question": "주문 취소하고 싶어요"}, api_key="key_b")
    assert found is not None and found.hit == "semantic"
    assert await cache.lookup("shared", "v1", "other", {"question": "주문 취소하고 싶어요"}, api_key="key_a") is None


# --- the migration --------------------------------------------------------------------------------------


async def test_migration_0004_empties_the_raw_cache_and_adds_the_key_column(database_url: str) -> None:
    with Store.open(database_url) as store:
        cache = SemanticCache(store, config(inputs="full"))
        await cache.store("faq", "v1", "", {"question": "900101-1234568"}, "900101-1234568", None, "trc_1")
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0003")  # as a store written before 0004 looks
            assert "api_key_id" not in {c["name"] for c in inspect(conn).get_columns("semantic_cache")}
            conn.execute(
                text(
                    "INSERT INTO semantic_cache (feature, version_id, tenant, key_hash, text, output_text, hits, "
                    "created_at, expires_at) VALUES ('faq', 'v1', '', :h, :t, :t, 0, :now, :later)"
                ),
                {
                    "h": "0" * 64,
                    "t": "raw 900101-1234568",
                    "now": "2026-01-01 00:00:00",
                    "later": "2999-01-01 00:00:00",
                },
            )
    with Store.open(database_url) as store:  # opening migrates to the head
        assert store.semcache_count() == 0
        with store.engine.connect() as conn:
            assert "api_key_id" in {c["name"] for c in inspect(conn).get_columns("semantic_cache")}


# --- end to end through the gateway -------------------------------------------------------------------------


@pytest.fixture
async def gateway(tmp_path: Path, database_url: str) -> AsyncIterator[Gateway]:
    """A started gateway whose ``q`` feature (default data_use) caches; the stub echoes the prompt."""
    async with StubServer(echo=True) as stub:
        (tmp_path / "andon.yaml").write_text(
            textwrap.dedent(
                f"""\
                providers:
                  stub: {{type: openai, base_url: "{stub.base_url}", api_key: sk-test, model: m, max_retries: 0}}
                gateway: {{group_commit_ms: 1}}
                features:
                  q:
                    versions:
                      v1: {{provider: stub, prompt: "{{{{ q }}}}"}}
                    serve: {{cache: {{enabled: true}}}}
                """
            ),
            encoding="utf-8",
        )
        promote_declared(tmp_path, database_url)  # nothing is live until promoted
        ws = Workspace.open(tmp_path, database_url=database_url)
        served = Gateway(ws, answer_cache=SemanticCache(ws.store, ws.config), prune_interval_s=None)
        await served.start()
        try:
            yield served
        finally:
            await served.stop()
            await ws.aclose_providers()
            ws.store.close()


async def test_the_issue_repro_stores_no_resident_number(gateway: Gateway) -> None:
    result = await gateway.invoke("q", {"q": "900101-1234568"}, Caller(api_key_id="key_a"))
    assert result.output_text == "900101-1234568"  # the client gets the real answer
    again = await gateway.invoke("q", {"q": "900101-1234568"}, Caller(api_key_id="key_a"))
    assert again.cached is None  # not cached: its answer holds personal data
    assert "900101-1234568" not in dump(gateway.ws.store)


async def test_the_gateway_keeps_each_api_keys_answers_apart(gateway: Gateway) -> None:
    first = await gateway.invoke("q", {"q": "주문을 취소하고 싶어요"}, Caller(api_key_id="key_a"))
    other = await gateway.invoke("q", {"q": "주문을 취소하고 싶어요"}, Caller(api_key_id="key_b"))
    again = await gateway.invoke("q", {"q": "주문을 취소하고 싶어요"}, Caller(api_key_id="key_a"))
    assert (first.cached, other.cached, again.cached) == (None, None, "exact")
