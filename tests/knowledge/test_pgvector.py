"""pgvector detection against the real servers, and the path without it (this machine's PostgreSQL 15 has no
pgvector package): the vectors stay in the store's chunk rows and dense search goes through
:class:`andon.vectors.VectorIndex`. The with-pgvector path (:class:`PgVectorIndex`) has no server to run on here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from andon.embeddings import default_embedder
from andon.knowledge import pgvector
from andon.knowledge.ingest import add_paths
from andon.knowledge.retrieval import load_index, search
from andon.store import Store
from andon.vectors import VectorIndex


def _server_can_create_vector(engine: Engine) -> bool:
    """The truth asked another way: create the extension in a transaction that is then rolled back."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            return True
        except DBAPIError:  # PostgreSQL: could not open extension control file ".../vector.control"
            return False
        finally:
            transaction.rollback()


def test_detection_says_what_the_server_can_do(store: Store) -> None:
    engine = store.engine
    if engine.dialect.name == "sqlite":
        assert not pgvector.available(engine) and not pgvector.usable(engine)
        return
    assert pgvector.available(engine) == _server_can_create_vector(engine)
    assert pgvector.usable(engine) == pgvector.available(engine)  # the role here may create extensions


def test_without_pgvector_vectors_stay_in_the_store_and_the_in_process_index_serves(
    store: Store, tmp_path: Path
) -> None:
    if pgvector.usable(store.engine):
        pytest.skip("this server has pgvector: the fallback is not the path taken")
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "refund.md").write_text("# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다.\n", encoding="utf-8")
    (folder / "account.md").write_text("# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다.\n", encoding="utf-8")
    embedder = default_embedder()
    add_paths(store, "help", [folder], embedder=embedder)
    assert all(c.embedding is not None for c in store.knowledge_chunks("help", embeddings=True))
    index = load_index(store, "help", embedder)
    assert isinstance(index.vectors, VectorIndex)
    hits = search(store, "help", "비밀번호를 바꾸고 싶어요", k=1, mode="hybrid", embedder=embedder)
    assert hits[0].chunk.source_path == "help/account.md" and hits[0].dense_rank == 1
    if store.engine.dialect.name == "postgresql":  # no pgvector table was made
        with store.engine.connect() as conn:
            tables = conn.execute(text("SELECT table_name FROM information_schema.tables")).scalars().all()
        assert not [t for t in tables if t.startswith("andon_kvec_")]


def test_vector_literal_is_pgvector_text_form() -> None:
    assert pgvector.literal(np.array([0.5, -1.25, 0.0], dtype=np.float32)) == "[0.5,-1.25,0.0]"
    value = np.float32(0.1)  # a float32 written so it reads back as the same float32
    assert np.float32(float(pgvector.literal([value])[1:-1])) == value
