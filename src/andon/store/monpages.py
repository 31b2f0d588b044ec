"""What the monitor pages read: a monitor's points as a chart needs them ((time, value, state) columns, no row
objects: a week of minutes is ten thousand points), and every monitor's status in one read, not five per monitor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, String, func, literal, select, union_all

from andon.store._base import StoreBase
from andon.store.deploy import STOP_KINDS
from andon.store.models import CordPullRow, FeatureEventRow, WatchLeaseRow, WatchPointRow, WatchStateRow
from andon.store.watch import SavedMonitor, _saved

SeriesPoint = tuple[float, float | None, str, float | None, float | None]  # (epoch s, value, state, low, high)
_UNIX_JULIAN_DAY = 2440587.5  # 1970-01-01T00:00Z as a Julian day
_CHUNK = 200  # monitors per read: a UNION of one-row selects, well under SQLite's 500 compound terms


@dataclass(frozen=True, slots=True)
class SeriesArrays:
    """A monitor's points as columns, oldest first: epoch seconds, value, state, band edges (NaN: none)."""

    ts: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    states: list[str]
    lows: npt.NDArray[np.float64]
    highs: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A row of the monitor page's verdict table: when, the value, the verdict, why and what was done."""

    ts: datetime
    value: float | None
    state: str
    reason: str
    decision: str | None


@dataclass(frozen=True, slots=True)
class MonitorOverview:
    """What the status of one monitor needs from the store: saved state, last point's decision, lease, pulls."""

    saved: SavedMonitor | None
    last_decision: str | None
    lease: tuple[str, int, datetime] | None  # (owner, token, expires_at)
    pending_pulls: int


class MonPagesMixin(StoreBase):
    """Read-only series of stored watch points and the monitors' status."""

    def watch_series(self, monitor: str, *, start: datetime) -> list[SeriesPoint]:
        """``(epoch s, value, state, band_low, band_high)`` of every point of ``monitor`` from ``start`` on, oldest
        first; the time as seconds worked out in SQL (parsing ten thousand datetimes costs more than the read)."""
        rows = self._series_rows(monitor, start)
        return [(float(ts), value, str(state), low, high) for ts, value, state, low, high in rows]

    def _series_rows(self, monitor: str, start: datetime) -> Sequence[Any]:
        """The rows of :meth:`watch_series`: (epoch s, value, state, low, high), oldest first."""
        if self.dialect == "postgresql":
            epoch: ColumnElement[Any] = func.extract("epoch", WatchPointRow.ts)
        else:  # stored naive UTC text; a Julian day's double keeps well under a millisecond
            epoch = (func.julianday(WatchPointRow.ts) - _UNIX_JULIAN_DAY) * 86400.0
        query = (
            select(epoch, WatchPointRow.value, WatchPointRow.state, WatchPointRow.band_low, WatchPointRow.band_high)
            .where(WatchPointRow.monitor == monitor, WatchPointRow.ts >= start)
            .order_by(WatchPointRow.ts)
        )
        with self._read() as session:
            # On the session's connection, as Core: the ORM's execute path costs a quarter more for 10,000 rows.
            return session.connection().execute(query).all()

    def watch_columns(self, monitor: str, *, start: datetime) -> SeriesArrays:
        """:meth:`watch_series` as columns: times, values, band edges as float arrays (NaN for none) and the
        states as a list, with no tuple per point (a week of minutes is ten thousand)."""
        rows = self._series_rows(monitor, start)
        if not rows:
            empty = np.zeros(0, dtype=float)
            return SeriesArrays(empty, empty, [], empty, empty)
        ts, values, states, lows, highs = zip(*rows, strict=True)
        # None becomes NaN in a float array, so the chart masks what has no value in one step.
        return SeriesArrays(
            np.asarray(ts, dtype=float), np.asarray(values, dtype=float), list(states),
            np.asarray(lows, dtype=float), np.asarray(highs, dtype=float),
        )  # fmt: skip

    def watch_verdicts(self, monitor: str, *, start: datetime, limit: int) -> list[Verdict]:
        """The newest ``limit`` points of ``monitor`` from ``start`` on, newest first, as the table shows them
        (five columns, not whole rows: the same as ``watch_points(limit=...)`` reversed)."""
        query = (
            select(WatchPointRow.ts, WatchPointRow.value, WatchPointRow.state, WatchPointRow.reason,
                   WatchPointRow.decision)
            .where(WatchPointRow.monitor == monitor, WatchPointRow.ts >= start)
            .order_by(WatchPointRow.ts.desc())
            .limit(limit)
        )  # fmt: skip
        with self._read() as session:
            return [Verdict(*row) for row in session.connection().execute(query).all()]

    def monitor_overviews(self, monitors: Sequence[str]) -> dict[str, MonitorOverview]:
        """Each of ``monitors``' saved state, last decision, lease and pending pulls: one read per 200 monitors.

        The same as ``monitor_state``, ``watch_points(limit=1)``, ``lease_holder`` and ``cord_pulls`` one by one.
        """
        wanted = list(dict.fromkeys(monitors))
        out: dict[str, MonitorOverview] = {}
        with self._read() as session:
            for at in range(0, len(wanted), _CHUNK):
                chunk = wanted[at : at + _CHUNK]
                picks = [select(literal(name, String(200)).label("monitor")) for name in chunk]
                names = (union_all(*picks) if len(picks) > 1 else picks[0]).cte("names")
                # Correlated limit-1 and count subqueries: each walks the (monitor, ts) index of one monitor.
                last = (
                    select(WatchPointRow.decision)
                    .where(WatchPointRow.monitor == names.c.monitor)
                    .order_by(WatchPointRow.ts.desc())
                    .limit(1)
                    .correlate(names)
                    .scalar_subquery()
                )
                pending = (
                    select(func.count())
                    .select_from(CordPullRow)
                    .where(CordPullRow.monitor == names.c.monitor, CordPullRow.status == "pending")
                    .correlate(names)
                    .scalar_subquery()
                )
                query = (
                    select(names.c.monitor, WatchStateRow, WatchLeaseRow, last, pending)
                    .select_from(names)
                    .outerjoin(WatchStateRow, WatchStateRow.monitor == names.c.monitor)
                    .outerjoin(WatchLeaseRow, WatchLeaseRow.monitor == names.c.monitor)
                )
                for name, state, lease, decision, pulls in session.execute(query).all():
                    out[str(name)] = MonitorOverview(
                        saved=None if state is None else _saved(state),
                        last_decision=decision,
                        lease=None if lease is None else (lease.owner, lease.token, lease.expires_at),
                        pending_pulls=int(pulls or 0),
                    )
        return {name: out[name] for name in wanted}  # in the order asked (a UNION's rows come in any order)

    def features_stopped(self, features: Sequence[str]) -> dict[str, bool]:
        """Whether each of ``features`` is stopped (its newest stop/resume event is a stop), in one read."""
        wanted = list(dict.fromkeys(features))
        if not wanted:
            return {}
        newest = (
            select(func.max(FeatureEventRow.id))
            .where(FeatureEventRow.feature.in_(wanted), FeatureEventRow.kind.in_(list(STOP_KINDS)))
            .group_by(FeatureEventRow.feature)
        )
        query = select(FeatureEventRow.feature, FeatureEventRow.kind).where(FeatureEventRow.id.in_(newest))
        with self._read() as session:
            found = {str(feature): kind == "stopped" for feature, kind in session.execute(query).all()}
        return {feature: found.get(feature, False) for feature in wanted}
