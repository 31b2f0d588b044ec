"""The watcher's store: monitor state and points, leases with a fencing token, cord pulls, pushed values,
and the metric queries over traces (aggregated in SQL on the ``(feature, created_at)`` index, never row by row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from andon.store._base import StoreBase
from andon.store.models import (
    CordPullRow,
    FeedbackRow,
    ReviewItemRow,
    TraceRow,
    UTCDateTime,
    WatchLeaseRow,
    WatchMetricRow,
    WatchPointRow,
    WatchStateRow,
    utcnow,
)

JsonPath = tuple[str | int, ...]
Aggregate = Literal["mean", "sum", "min", "max", "last", "count"]
ShareKind = Literal["error", "route", "label", "cache"]
# What the gateway writes on traces of a stopped feature: the error code of a call its fallback answered or
# refused (the AI was not asked), and the route of a shadow probe of the live version (asked, never served).
STOPPED_CODE = "feature_stopped"
PROBE_ROUTE = "probe"


@dataclass(frozen=True, slots=True)
class WatchPoint:
    """One measurement of a monitor and its verdict (``value`` is the share for count metrics)."""

    monitor: str
    ts: datetime
    value: float | None
    state: str  # ok | warn | fail | no_data | paused | error
    score: float
    reason: str
    fired: bool = False
    successes: int | None = None
    trials: int | None = None
    baseline: float | None = None
    decision: str | None = None  # act | shadow | cooldown | resume
    mode: str = "active"
    band_low: float | None = None  # the detector's expected range for the value, when it predicts one
    band_high: float | None = None


@dataclass(frozen=True, slots=True)
class SavedMonitor:
    """A monitor's saved state: status, the JSON the watcher needs to go on, and the last tick."""

    monitor: str
    status: str
    state: dict[str, Any]
    last_ts: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PullClaim:
    """A cord pull to claim together with an evaluation (so deciding to act and recording it are one commit)."""

    dedupe_key: str
    action: str
    feature: str
    actor: str
    reason: str
    monitor: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CordPullRecord:
    """One audited pull of the cord (or automatic resume): pending until its action and incident are done."""

    id: int
    dedupe_key: str
    action: str
    feature: str
    monitor: str | None
    actor: str
    reason: str
    status: str  # pending | done
    params: dict[str, Any]
    incident_id: str | None
    details: dict[str, Any]
    error: str | None
    created_at: datetime
    done_at: datetime | None


class WatchMixin(StoreBase):
    """Monitor state, leases, cord pulls, pushed values and trace metrics (methods of :class:`andon.store.Store`)."""

    # leases ------------------------------------------------------------------------------------------

    def acquire_lease(self, monitor: str, owner: str, ttl_s: float, now: datetime) -> int | None:
        """Take or renew the lease on ``monitor``; its fencing token, or None while another owner holds it.

        The token grows each time the lease changes hands, so a watcher that lost it cannot commit.
        """
        expires = now + timedelta(seconds=ttl_s)
        try:
            with self._write() as session:
                row = session.get(WatchLeaseRow, monitor, with_for_update=True)
                # RETURNING says whether the write happened (an ORM session's rowcount does not, on psycopg).
                if row is None:
                    taken = session.execute(
                        self._insert(WatchLeaseRow)
                        .values(monitor=monitor, owner=owner, token=1, expires_at=expires)
                        .on_conflict_do_nothing(index_elements=["monitor"])
                        .returning(WatchLeaseRow.token)
                    ).scalar_one_or_none()
                    return None if taken is None else int(taken)
                if row.owner != owner and row.expires_at > now:
                    return None
                token = row.token if row.owner == owner else row.token + 1
                swapped = session.execute(
                    update(WatchLeaseRow)
                    .where(WatchLeaseRow.monitor == monitor, WatchLeaseRow.token == row.token)
                    .values(owner=owner, token=token, expires_at=expires)
                    .returning(WatchLeaseRow.token)
                    .execution_options(synchronize_session=False)
                ).scalar_one_or_none()
                return None if swapped is None else int(swapped)
        except IntegrityError:
            return None

    def release_lease(self, monitor: str, owner: str, token: int) -> None:
        """Give the lease up at once (a clean shutdown), so another watcher need not wait for it to expire."""
        with self._write() as session:
            session.execute(
                update(WatchLeaseRow)
                .where(WatchLeaseRow.monitor == monitor, WatchLeaseRow.owner == owner, WatchLeaseRow.token == token)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

    def lease_holder(self, monitor: str) -> tuple[str, int, datetime] | None:
        """(owner, token, expires_at) of the lease on ``monitor``, or None."""
        with self._read() as session:
            row = session.get(WatchLeaseRow, monitor)
            return None if row is None else (row.owner, row.token, row.expires_at)

    # state and points --------------------------------------------------------------------------------

    def monitor_state(self, monitor: str) -> SavedMonitor | None:
        """The saved state of ``monitor``, or None before its first evaluation."""
        with self._read() as session:
            row = session.get(WatchStateRow, monitor)
            return None if row is None else _saved(row)

    def monitor_states(self) -> list[SavedMonitor]:
        """Every saved monitor state, by name."""
        with self._read() as session:
            return [_saved(r) for r in session.scalars(select(WatchStateRow).order_by(WatchStateRow.monitor))]

    def commit_evaluation(
        self,
        monitor: str,
        *,
        owner: str,
        token: int,
        point: WatchPoint,
        status: str,
        state: dict[str, Any],
        claims: Sequence[PullClaim] = (),
    ) -> bool:
        """Store a point, the new state and any cord pulls it decided on, in ONE transaction, under the fence.

        False (and nothing written) when ``token`` is no longer the lease's or the tick was stored already.
        """
        with self._write() as session:
            lease = session.get(WatchLeaseRow, monitor, with_for_update=True)
            if lease is None or lease.owner != owner or lease.token != token:
                return False
            saved = session.get(WatchStateRow, monitor)
            if saved is not None and saved.last_ts is not None and saved.last_ts >= point.ts:
                return False
            session.add(_point_row(point))
            if saved is None:
                session.add(
                    WatchStateRow(monitor=monitor, status=status, state=state, last_ts=point.ts, updated_at=utcnow())
                )
            else:
                saved.status, saved.state, saved.last_ts, saved.updated_at = status, state, point.ts, utcnow()
            for claim in claims:
                session.execute(
                    self._insert(CordPullRow)
                    .values(**_claim_values(claim))
                    .on_conflict_do_nothing(index_elements=["dedupe_key", "action"])
                )
            return True

    def watch_points(
        self, monitor: str, *, start: datetime | None = None, end: datetime | None = None, limit: int | None = None
    ) -> list[WatchPoint]:
        """Points of ``monitor`` in [start, end), oldest first (with ``limit``: the newest ``limit`` of them)."""
        query = select(WatchPointRow).where(WatchPointRow.monitor == monitor)
        if start is not None:
            query = query.where(WatchPointRow.ts >= start)
        if end is not None:
            query = query.where(WatchPointRow.ts < end)
        with self._read() as session:
            if limit is not None:
                rows = list(session.scalars(query.order_by(WatchPointRow.ts.desc()).limit(limit)))
                rows.reverse()
            else:
                rows = list(session.scalars(query.order_by(WatchPointRow.ts)))
            return [_point(r) for r in rows]

    # cord pulls --------------------------------------------------------------------------------------

    def claim_pull(self, claim: PullClaim) -> CordPullRecord:
        """The pull with ``claim``'s dedupe key and action: the one recorded before, else a new pending one."""
        with self._write() as session:
            session.execute(
                self._insert(CordPullRow)
                .values(**_claim_values(claim))
                .on_conflict_do_nothing(index_elements=["dedupe_key", "action"])
            )
            row = session.scalars(
                select(CordPullRow).where(
                    CordPullRow.dedupe_key == claim.dedupe_key, CordPullRow.action == claim.action
                )
            ).one()
            return _pull(row)

    def finish_pull(self, pull_id: int, *, incident_id: str | None, details: dict[str, Any]) -> CordPullRecord:
        """Mark a pull done with the incident it opened and what was done (once: a done pull stays as it was)."""
        with self._write() as session:
            row = session.get(CordPullRow, pull_id, with_for_update=True)
            if row is None:
                raise LookupError(f"no cord pull {pull_id}")
            if row.status != "done":
                row.status, row.incident_id, row.details = "done", incident_id, dict(details)
                row.error, row.done_at = None, utcnow()
            return _pull(row)

    def note_pull_error(self, pull_id: int, error: str) -> None:
        """Remember why a pending pull failed (it stays pending and is tried again)."""
        with self._write() as session:
            session.execute(
                update(CordPullRow)
                .where(CordPullRow.id == pull_id, CordPullRow.status == "pending")
                .values(error=error[:4000])
            )

    def cord_pulls(
        self, *, feature: str | None = None, monitor: str | None = None, status: str | None = None
    ) -> list[CordPullRecord]:
        """Cord pulls, oldest first, optionally of one feature, monitor or status."""
        query = select(CordPullRow).order_by(CordPullRow.id)
        if feature is not None:
            query = query.where(CordPullRow.feature == feature)
        if monitor is not None:
            query = query.where(CordPullRow.monitor == monitor)
        if status is not None:
            query = query.where(CordPullRow.status == status)
        with self._read() as session:
            return [_pull(r) for r in session.scalars(query)]

    # pushed values -----------------------------------------------------------------------------------

    def save_metric_values(self, values: Sequence[tuple[str, datetime, float]], *, api_key_id: str | None) -> int:
        """Store pushed ``(metric, ts, value)`` triples in one transaction; how many were stored."""
        if not values:
            return 0
        now = utcnow()
        rows = [
            {"metric": m, "ts": ts, "value": float(v), "api_key_id": api_key_id, "received_at": now}
            for m, ts, v in values
        ]
        with self._write() as session:
            session.execute(insert(WatchMetricRow), rows)
        return len(rows)

    def metric_aggregate(self, metric: str, start: datetime, end: datetime, how: Aggregate) -> tuple[float | None, int]:
        """(aggregate, count) of the values pushed for ``metric`` in [start, end); None when there are none."""
        where = and_(WatchMetricRow.metric == metric, WatchMetricRow.ts >= start, WatchMetricRow.ts < end)
        with self._read() as session:
            count = int(session.execute(select(func.count()).select_from(WatchMetricRow).where(where)).scalar_one())
            if count == 0:
                return None, 0
            if how == "count":
                return float(count), count
            if how == "last":
                last = session.execute(
                    select(WatchMetricRow.value)
                    .where(where)
                    .order_by(WatchMetricRow.ts.desc(), WatchMetricRow.id.desc())
                    .limit(1)
                ).scalar_one()
                return float(last), count
            column = WatchMetricRow.value
            aggregated = {"mean": func.avg(column), "sum": func.sum(column), "min": func.min(column),
                          "max": func.max(column)}[how]  # fmt: skip
            value = session.execute(select(aggregated).where(where)).scalar_one()
            return (None if value is None else float(value)), count

    def metric_span(self, metric: str) -> tuple[datetime, datetime] | None:
        """(first, last) time a value was pushed for ``metric``, or None."""
        with self._read() as session:
            first, last = session.execute(
                select(func.min(WatchMetricRow.ts), func.max(WatchMetricRow.ts)).where(WatchMetricRow.metric == metric)
            ).one()
        if first is None or last is None:
            return None
        return _aware(first), _aware(last)

    # trace metrics -----------------------------------------------------------------------------------

    def trace_calls(self, feature: str, start: datetime, end: datetime) -> int:
        """How many calls of ``feature`` were traced in [start, end)."""
        with self._read() as session:
            query = select(func.count()).select_from(TraceRow).where(_window(feature, start, end), _served())
            return int(session.execute(query).scalar_one())

    def trace_share(
        self,
        feature: str,
        start: datetime,
        end: datetime,
        kind: ShareKind,
        *,
        route: str | None = None,
        path: JsonPath = (),
        labels: Sequence[str] = (),
        in_tags: bool = False,
    ) -> tuple[int, int]:
        """(hits, trials) in [start, end) for a share metric.

        ``error``: calls the AI was asked that failed, of all it was asked (a stopped feature's calls are not
        asked; its shadow probes are); ``label``: answers whose ``path`` is one of ``labels``, of the AI's
        answers; ``route``: calls sent to ``route``, of all calls served; ``cache``: calls answered from the
        cache, of all calls served (probes are not served).
        """
        where: list[ColumnElement[bool]] = [_window(feature, start, end)]
        if kind == "error":
            where.append(_asked())
            hit: ColumnElement[bool] = TraceRow.error_code.is_not(None)
        elif kind == "label":
            where += [_asked(), TraceRow.error_code.is_(None)]
            column = TraceRow.tags if in_tags else TraceRow.output_json
            hit = column[path].as_string().in_(list(labels))
        elif kind == "route":
            where.append(_served())
            hit = TraceRow.route == route
        else:
            where.append(_served())
            hit = TraceRow.cache.is_not(None)
        query = select(func.count(), func.coalesce(func.sum(_as_int(hit)), 0)).select_from(TraceRow).where(*where)
        with self._read() as session:
            trials, hits = session.execute(query).one()
        return int(hits), int(trials)

    def trace_latency_percentile(
        self, feature: str, start: datetime, end: datetime, q: float
    ) -> tuple[float | None, int]:
        """(the ``q`` quantile of latency in ms, interpolated linearly, and the count) of the AI's calls."""
        where = and_(_window(feature, start, end), _asked())
        return self._percentile(TraceRow.latency_ms, where, q)

    def trace_cost(self, feature: str, start: datetime, end: datetime) -> tuple[float, int]:
        """(summed cost, calls) of ``feature`` in [start, end); calls without a price count as 0."""
        query = select(func.coalesce(func.sum(TraceRow.cost), 0.0), func.count()).where(_window(feature, start, end))
        with self._read() as session:
            total, count = session.execute(query).one()
        return float(total or 0.0), int(count)

    def trace_json_mean(
        self, feature: str, start: datetime, end: datetime, path: JsonPath, *, in_tags: bool = False
    ) -> tuple[float | None, int]:
        """(mean, count) of the number at ``path`` of the output JSON (or tags), over traces that carry one."""
        column = (TraceRow.tags if in_tags else TraceRow.output_json)[path].as_float()
        window = (_window(feature, start, end), _not_stopped(), column.is_not(None))
        query = select(func.avg(column), func.count(column)).where(*window)
        with self._read() as session:
            mean, count = session.execute(query).one()
        return (None if mean is None else float(mean)), int(count)

    def feedback_negative(self, feature: str, start: datetime, end: datetime) -> tuple[int, int]:
        """(negative, all) feedback on traces of ``feature`` made in [start, end): thumbs -1 is negative."""
        query = (
            select(func.count(), func.coalesce(func.sum(_as_int(FeedbackRow.thumbs == -1)), 0))
            .select_from(FeedbackRow)
            .join(TraceRow, TraceRow.id == FeedbackRow.trace_id)
            .where(_window(feature, start, end), _not_stopped())
        )
        with self._read() as session:
            total, negative = session.execute(query).one()
        return int(negative), int(total)

    def review_backlog(self, feature: str, at: datetime) -> int:
        """Review items of ``feature`` waiting at ``at``: created before it and not decided by then."""
        at_time = literal(at, UTCDateTime())
        query = (
            select(func.count())
            .select_from(ReviewItemRow)
            .where(
                ReviewItemRow.feature == feature,
                ReviewItemRow.created_at < at_time,
                or_(ReviewItemRow.decided_at.is_(None), ReviewItemRow.decided_at >= at_time),
            )
        )
        with self._read() as session:
            return int(session.execute(query).scalar_one())

    def review_wait_percentile(
        self, feature: str, start: datetime, end: datetime, q: float
    ) -> tuple[float | None, int]:
        """(``q`` quantile of waits in seconds, count): items decided in [start, end) or still waiting at ``end``."""
        end_time = literal(end, UTCDateTime())
        waited_until = func.coalesce(ReviewItemRow.decided_at, end_time)
        if self.dialect == "postgresql":
            wait: ColumnElement[Any] = func.extract("epoch", waited_until - ReviewItemRow.created_at)
        else:
            wait = (func.julianday(waited_until) - func.julianday(ReviewItemRow.created_at)) * 86400.0
        where = and_(
            ReviewItemRow.feature == feature,
            ReviewItemRow.created_at < end_time,
            or_(
                ReviewItemRow.decided_at.is_(None),
                and_(ReviewItemRow.decided_at >= start, ReviewItemRow.decided_at < end_time),
            ),
        )
        return self._percentile(wait, where, q)

    def _percentile(self, value: Any, where: ColumnElement[bool], q: float) -> tuple[float | None, int]:
        """Linear interpolation between the two nearest ranks (PostgreSQL's percentile_cont), in SQL."""
        with self._read() as session:
            count = int(session.execute(select(func.count()).where(where, value.is_not(None))).scalar_one())
            if count == 0:
                return None, 0
            if self.dialect == "postgresql":
                found = session.execute(select(func.percentile_cont(q).within_group(value)).where(where)).scalar_one()
                return float(found), count
            position = q * (count - 1)
            low, high = math.floor(position), math.ceil(position)
            ordered = select(value).where(where, value.is_not(None)).order_by(value).limit(1)
            lo = float(session.execute(ordered.offset(low)).scalar_one())
            hi = lo if high == low else float(session.execute(ordered.offset(high)).scalar_one())
            return lo + (hi - lo) * (position - low), count


def _window(feature: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(TraceRow.feature == feature, TraceRow.created_at >= start, TraceRow.created_at < end)


def _asked() -> ColumnElement[bool]:
    """Calls the AI (or its cache) was asked: a stopped feature's calls go to its fallback and are not (its
    shadow probes of the live version are)."""
    asked = or_(TraceRow.provider.is_not(None), TraceRow.cache.is_not(None), TraceRow.error_code.is_not(None))
    return and_(asked, _not_stopped())


def _not_stopped() -> ColumnElement[bool]:
    """Not a call a stopped feature's fallback answered or refused (those say nothing of the live version)."""
    return or_(TraceRow.error_code.is_(None), TraceRow.error_code != STOPPED_CODE)


def _served() -> ColumnElement[bool]:
    """Calls someone made (a shadow probe is the gateway's own, not a call)."""
    return TraceRow.route != PROBE_ROUTE


def _as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _point_row(point: WatchPoint) -> WatchPointRow:
    return WatchPointRow(
        monitor=point.monitor,
        ts=point.ts,
        value=point.value,
        successes=point.successes,
        trials=point.trials,
        baseline=point.baseline,
        state=point.state,
        score=point.score,
        reason=point.reason,
        fired=point.fired,
        decision=point.decision,
        mode=point.mode,
        band_low=point.band_low,
        band_high=point.band_high,
        created_at=utcnow(),
    )


def _point(row: WatchPointRow) -> WatchPoint:
    return WatchPoint(
        monitor=row.monitor,
        ts=row.ts,
        value=row.value,
        state=row.state,
        score=row.score,
        reason=row.reason,
        fired=row.fired,
        successes=row.successes,
        trials=row.trials,
        baseline=row.baseline,
        decision=row.decision,
        mode=row.mode,
        band_low=row.band_low,
        band_high=row.band_high,
    )


def _saved(row: WatchStateRow) -> SavedMonitor:
    return SavedMonitor(row.monitor, row.status, dict(row.state), row.last_ts, row.updated_at)


def _claim_values(claim: PullClaim) -> dict[str, Any]:
    return {
        "dedupe_key": claim.dedupe_key,
        "action": claim.action,
        "feature": claim.feature,
        "monitor": claim.monitor,
        "actor": claim.actor,
        "reason": claim.reason,
        "status": "pending",
        "params": dict(claim.params),
        "details": {},
        "created_at": utcnow(),
    }


def _pull(row: CordPullRow) -> CordPullRecord:
    return CordPullRecord(
        id=row.id,
        dedupe_key=row.dedupe_key,
        action=row.action,
        feature=row.feature,
        monitor=row.monitor,
        actor=row.actor,
        reason=row.reason,
        status=row.status,
        params=dict(row.params),
        incident_id=row.incident_id,
        details=dict(row.details),
        error=row.error,
        created_at=row.created_at,
        done_at=row.done_at,
    )
