"""pgvector on PostgreSQL: detect whether the server has the ``vector`` extension, and when it does keep a
knowledge base's vectors in a ``vector`` column with an HNSW (cosine) index, searched in the database.

Without it (SQLite, or a PostgreSQL server without the package, as this machine's PostgreSQL 15) the vectors
stay in the store's chunk rows and dense search goes through :class:`andon.vectors.VectorIndex`. The
with-pgvector SQL below has not run here (no server with the extension was at hand); detection and the
fallback are tested against the real server.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

_log = logging.getLogger(__name__)
_known: dict[str, bool] = {}  # engine URL -> extension usable (asked once per process)
_lock = threading.Lock()


class DenseIndex(Protocol):
    """What :class:`andon.knowledge.retrieval.Index` needs of a dense index (as :class:`andon.vectors.VectorIndex`)."""

    def sync(self, ids: ArrayLike, vectors: ArrayLike) -> tuple[int, int]:
        """Hold exactly these rows; (added, removed)."""
        ...

    def search(self, query: ArrayLike, k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ``k`` nearest ids and their cosines, best first."""
        ...


def available(engine: Engine) -> bool:
    """Whether the server offers the ``vector`` extension (listed in ``pg_available_extensions``); False on
    any other database."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
    return found is not None


def usable(engine: Engine) -> bool:
    """:func:`available`, and the extension created in this database (``CREATE EXTENSION IF NOT EXISTS``
    needs a privileged role the first time); remembered per engine URL."""
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        if key in _known:
            return _known[key]
    ok = available(engine)
    if ok:
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        except DBAPIError as exc:  # offered but not ours to create: the in-process index serves instead
            _log.warning("pgvector is available but could not be created (%s); using the in-process index", exc)
            ok = False
    with _lock:
        _known[key] = ok
    return ok


class PgVectorIndex:
    """One knowledge base's vectors in a table of its own (``vector(dim)``, an HNSW index on cosine distance).

    UNTESTED here: no PostgreSQL with pgvector on this machine.
    """

    def __init__(self, engine: Engine, name: str, dim: int) -> None:
        """``name`` identifies the base and embedder (hashed into the table name)."""
        self.engine, self.dim = engine, dim
        self.table = f"andon_kvec_{hashlib.sha256(name.encode()).hexdigest()[:16]}"
        with engine.begin() as conn:
            conn.execute(
                text(f"CREATE TABLE IF NOT EXISTS {self.table} (key bigint PRIMARY KEY, embedding vector({dim}))")
            )
            conn.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                    "USING hnsw (embedding vector_cosine_ops)"
                )
            )

    def sync(self, ids: ArrayLike, vectors: ArrayLike) -> tuple[int, int]:
        """Make the table hold these keys: the missing ones inserted, the ones not given deleted (a key is a
        chunk id's hash, and a chunk of other text gets another id); (rows added, rows removed)."""
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        block = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        with self.engine.begin() as conn:
            held = {int(r[0]) for r in conn.execute(text(f"SELECT key FROM {self.table}"))}
            rows = [{"key": k, "v": literal(block[at])} for at, k in enumerate(keys.tolist()) if k not in held]
            if rows:
                conn.execute(text(f"INSERT INTO {self.table} (key, embedding) VALUES (:key, CAST(:v AS vector))"), rows)
            gone = [{"key": k} for k in held.difference(keys.tolist())]
            if gone:
                conn.execute(text(f"DELETE FROM {self.table} WHERE key = :key"), gone)
        return len(rows), len(gone)

    def search(self, query: ArrayLike, k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ``k`` nearest keys by cosine (``<=>`` is cosine distance), best first."""
        vector = literal(np.asarray(query, dtype=np.float32).reshape(self.dim))
        with self.engine.connect() as conn:
            found = conn.execute(
                text(
                    f"SELECT key, 1 - (embedding <=> CAST(:q AS vector)) FROM {self.table} "
                    "ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k"
                ),
                {"q": vector, "k": int(k)},
            ).all()
        return np.array([r[0] for r in found], dtype=np.int64), np.array([r[1] for r in found], dtype=np.float32)


def literal(vector: ArrayLike) -> str:
    """pgvector's text form of a vector: ``[0.5,-1.25]`` (float32 values written exactly)."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32).reshape(-1)) + "]"
