"""A monitor's points as a chart needs them: (time, value, state) columns only, no row objects (a week of
minutes is ten thousand points)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from andon.store._base import StoreBase
from andon.store.models import WatchPointRow

SeriesPoint = tuple[datetime, float | None, str, float | None, float | None]  # (ts, value, state, low, high)


class MonPagesMixin(StoreBase):
    """Read-only series of stored watch points."""

    def watch_series(self, monitor: str, *, start: datetime) -> list[SeriesPoint]:
        """``(ts, value, state, band_low, band_high)`` of every point of ``monitor`` from ``start`` on, oldest first."""
        columns = (WatchPointRow.ts, WatchPointRow.value, WatchPointRow.state)
        query = (
            select(*columns, WatchPointRow.band_low, WatchPointRow.band_high)
            .where(WatchPointRow.monitor == monitor, WatchPointRow.ts >= start)
            .order_by(WatchPointRow.ts)
        )
        with self._read() as session:
            rows = session.execute(query).all()
            return [(_aware(ts), value, str(state), low, high) for ts, value, state, low, high in rows]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
