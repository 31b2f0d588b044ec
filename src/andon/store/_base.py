"""What every store mixin may use: sessions for reading and writing, the dialect, and upserts."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


class StoreBase:
    """Base of :class:`andon.store.Store` and its mixins (one concept per file: runs, traces, keys, …)."""

    dialect: Literal["sqlite", "postgresql"]

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by Store

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by Store

    def _insert(self, model: type[Any]) -> postgresql.Insert | sqlite.Insert:
        raise NotImplementedError  # provided by Store


def update_at_revision(session: Session, model: type[Any], row_id: str, revision: int, values: dict[str, Any]) -> bool:
    """Write ``values`` to the row only while it is still at ``revision`` (compare-and-set); whether it was written.

    RETURNING says whether the write happened: an ORM session's rowcount does not, on psycopg.
    """
    done = session.execute(
        update(model)
        .where(model.id == row_id, model.revision == revision)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return done is not None
