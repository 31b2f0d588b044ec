"""What every store mixin may use: sessions for reading and writing, the dialect, and upserts."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Literal

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
