"""A monitor's points as a chart needs them: (time, value, state) columns only, no row objects (a week of
minutes is ten thousand points)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from andon.store._base import StoreBase
from andon.store.models import WatchPointRow

SeriesPoint = tuple[datetime, float | None, str]  # (ts, value, state)


class MonPagesMixin(StoreBase):
    """Read-only series of stored watch points."""

    def watch_series(self, monitor: str, *, start: datetime) -> list[SeriesPoint]:
        """``(ts, value, state)`` of every point of ``monitor`` from ``start`` on, oldest first."""
        query = (
            select(WatchPointRow.ts, WatchPointRow.value, WatchPointRow.state)
            .where(WatchPointRow.monitor == monitor, WatchPointRow.ts >= start)
            .order_by(WatchPointRow.ts)
        )
        with self._read() as session:
            return [(_aware(ts), value, str(state)) for ts, value, state in session.execute(query).all()]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
