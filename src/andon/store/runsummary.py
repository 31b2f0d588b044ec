"""A finished run's summaries as JSON text, kept once built: a run's cells never change after it ends, so a
cold dashboard reads them back instead of summarising every cell again."""

from __future__ import annotations

from sqlalchemy import select

from andon.store._base import StoreBase
from andon.store.models import RunSummaryRow, utcnow


class RunSummaryMixin(StoreBase):
    """Stored run summaries keyed by (run id, a digest of what they depend on)."""

    def run_summary(self, run_id: str, key: str) -> str | None:
        """The JSON text stored for ``run_id`` under ``key``, or None."""
        query = select(RunSummaryRow.data).where(RunSummaryRow.run_id == run_id, RunSummaryRow.key == key)
        with self._read() as session:
            return session.execute(query).scalar_one_or_none()

    def save_run_summary(self, run_id: str, key: str, data: str) -> None:
        """Keep ``data`` for ``run_id`` under ``key`` (two builders racing both write the same: the first stays)."""
        with self._write() as session:
            session.execute(
                self._insert(RunSummaryRow)
                .values(run_id=run_id, key=key, data=data, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["run_id", "key"])
            )
