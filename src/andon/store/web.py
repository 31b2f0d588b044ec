"""The dashboard in the store: users, sessions, review claims and the home page's hourly trace totals.

Sessions are kept by the sha256 of their cookie, so a copy of the database cannot sign anyone in; failed
sign-ins are counted by a single UPDATE, so parallel guesses cannot slip past the lock-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select, update

from andon.errors import ConfigError, NotFoundError
from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import ReviewClaimRow, ReviewItemRow, TraceRow, WebSessionRow, WebUserRow, utcnow


@dataclass(frozen=True, slots=True)
class WebUser:
    """A dashboard user as stored (the password only as its argon2 hash)."""

    id: str
    name: str
    role: str
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
    disabled_at: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the user may sign in at all (not disabled)."""
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser's session: whose it is, its CSRF token and when it ends."""

    id_hash: str
    user: WebUser
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class HourTotals:
    """One hour of a feature's traces: calls, errors and summed cost (in the traces' currency)."""

    hour: datetime
    calls: int
    errors: int
    cost: float


class WebMixin(StoreBase):
    """Dashboard methods of :class:`andon.store.Store`."""

    # users

    def add_web_user(self, *, user_id: str, name: str, role: str, password_hash: str) -> WebUser:
        """Store a new user; a ConfigError when the name is taken."""
        with self._write() as session:
            if session.scalar(select(WebUserRow.id).where(WebUserRow.name == name)) is not None:
                raise ConfigError(
                    t("house3.web.user_exists", name=name), where="NAME", hint=t("house3.web.user_exists_hint")
                )
            row = WebUserRow(
                id=user_id, name=name, role=role, password_hash=password_hash, failed_logins=0, created_at=utcnow()
            )
            session.add(row)
            session.flush()
            return _user(row)

    def web_user_by_name(self, name: str) -> WebUser | None:
        """The user called ``name``, or None."""
        with self._read() as session:
            row = session.scalar(select(WebUserRow).where(WebUserRow.name == name))
            return None if row is None else _user(row)

    def list_web_users(self) -> list[WebUser]:
        """Every user, oldest first."""
        with self._read() as session:
            return [_user(r) for r in session.scalars(select(WebUserRow).order_by(WebUserRow.created_at))]

    def disable_web_user(self, name: str) -> WebUser:
        """Disable ``name`` and end its sessions; disabling twice keeps the first time."""
        with self._write() as session:
            row = session.scalar(select(WebUserRow).where(WebUserRow.name == name))
            if row is None:
                raise NotFoundError(t("house3.web.no_user", name=name), hint=t("house3.web.no_user_hint"))
            if row.disabled_at is None:
                row.disabled_at = utcnow()
            session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
            session.flush()
            return _user(row)

    def note_failed_login(self, user_id: str, *, limit: int, lock_for: timedelta) -> WebUser:
        """Count one failed sign-in; the ``limit``-th in a row locks the user for ``lock_for``."""
        now = utcnow()
        with self._write() as session:
            session.execute(
                update(WebUserRow)
                .where(WebUserRow.id == user_id)
                .values(
                    failed_logins=WebUserRow.failed_logins + 1,
                    locked_until=case(
                        (WebUserRow.failed_logins + 1 >= limit, now + lock_for), else_=WebUserRow.locked_until
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            return _user(session.get_one(WebUserRow, user_id, populate_existing=True))

    def note_login(self, user_id: str, password_hash: str | None = None) -> None:
        """A successful sign-in: the failure count starts again; a rehashed password replaces the old hash."""
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": utcnow()}
        if password_hash is not None:
            values["password_hash"] = password_hash
        with self._write() as session:
            session.execute(update(WebUserRow).where(WebUserRow.id == user_id).values(**values))

    # sessions

    def add_web_session(self, *, id_hash: str, user_id: str, csrf_token: str, expires_at: datetime) -> None:
        """Store a new session (by the hash of its cookie) and drop expired ones."""
        now = utcnow()
        with self._write() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            session.add(
                WebSessionRow(
                    id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, expires_at=expires_at
                )
            )

    def web_session(self, id_hash: str) -> WebSession | None:
        """The live session with this cookie hash, with its user (None when unknown, expired or disabled)."""
        with self._read() as session:
            found = session.execute(
                select(WebSessionRow, WebUserRow)
                .join(WebUserRow, WebUserRow.id == WebSessionRow.user_id)
                .where(WebSessionRow.id_hash == id_hash, WebSessionRow.expires_at > utcnow())
            ).first()
            if found is None or found[1].disabled_at is not None:
                return None
            row, user = found
            return WebSession(row.id_hash, _user(user), row.csrf_token, row.expires_at)

    def end_web_session(self, id_hash: str) -> None:
        """Forget a session (signing out)."""
        with self._write() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))

    # review claims

    def claim_review_item(self, review_id: str, actor: str, *, until: datetime) -> bool:
        """Take or renew ``actor``'s claim on a pending item; False when another holds it or it is decided."""
        now = utcnow()
        insert = self._insert(ReviewClaimRow).values(review_id=review_id, actor=actor, expires_at=until)
        stmt = insert.on_conflict_do_update(
            index_elements=["review_id"],
            set_={"actor": insert.excluded.actor, "expires_at": insert.excluded.expires_at},
            where=(ReviewClaimRow.actor == actor) | (ReviewClaimRow.expires_at < now),
        ).returning(ReviewClaimRow.review_id)
        with self._write() as session:
            status = session.scalar(select(ReviewItemRow.status).where(ReviewItemRow.id == review_id))
            if status != "pending":
                return False
            return session.execute(stmt).first() is not None

    def unclaimed_review_ids(
        self, actor: str, feature: str | None = None, *, limit: int = 20, exclude: Sequence[str] = ()
    ) -> list[str]:
        """Pending items, highest priority (a guard's route) then oldest first, that nobody but ``actor`` holds a
        live claim on."""
        now = utcnow()
        query = (
            select(ReviewItemRow.id)
            .outerjoin(ReviewClaimRow, ReviewClaimRow.review_id == ReviewItemRow.id)
            .where(
                ReviewItemRow.status == "pending",
                (ReviewClaimRow.review_id.is_(None))
                | (ReviewClaimRow.expires_at < now)
                | (ReviewClaimRow.actor == actor),
            )
            .order_by(
                # The reviewer's own claim first: a reload shows the item they were deciding.
                case((ReviewClaimRow.actor == actor, 0), else_=1),
                ReviewItemRow.__table__.c.priority.desc(),  # the queue's order (store.reviews): urgent first
                ReviewItemRow.created_at,
                ReviewItemRow.id,
            )
            .limit(limit)
        )
        if feature is not None:
            query = query.where(ReviewItemRow.feature == feature)
        if exclude:
            query = query.where(ReviewItemRow.id.not_in(list(exclude)))
        with self._read() as session:
            return list(session.scalars(query))

    def review_claim(self, review_id: str) -> tuple[str, datetime] | None:
        """(actor, until) of the live claim on an item, or None."""
        with self._read() as session:
            row = session.get(ReviewClaimRow, review_id)
            if row is None or row.expires_at < utcnow():
                return None
            return row.actor, row.expires_at

    def release_review_claim(self, review_id: str, actor: str) -> None:
        """Drop ``actor``'s claim on an item (decided, or skipped)."""
        with self._write() as session:
            session.execute(
                delete(ReviewClaimRow).where(ReviewClaimRow.review_id == review_id, ReviewClaimRow.actor == actor)
            )

    # the home page

    def hourly_trace_totals(self, feature: str, since: datetime) -> list[HourTotals]:
        """Calls, errors and cost of ``feature`` per hour since ``since`` (hours without calls are left out)."""
        # Grouped in the database, by hour: the home page asks this for every feature on every visit.
        if self.dialect == "postgresql":
            bucket = func.date_trunc("hour", TraceRow.created_at)
        else:
            bucket = func.strftime("%Y-%m-%dT%H:00:00", TraceRow.created_at)
        query = (
            select(
                bucket.label("hour"),
                func.count(),
                func.sum(case((TraceRow.status == "error", 1), else_=0)),
                func.coalesce(func.sum(TraceRow.cost), 0.0),
            )
            .where(TraceRow.feature == feature, TraceRow.created_at >= since)
            .group_by(bucket)
            .order_by(bucket)
        )
        with self._read() as session:
            rows = session.execute(query).all()
        return [HourTotals(_hour(h), int(n), int(e or 0), float(c or 0.0)) for h, n, e, c in rows]

    def pending_review_counts(self) -> dict[str, int]:
        """Pending review items per feature."""
        query = (
            select(ReviewItemRow.feature, func.count())
            .where(ReviewItemRow.status == "pending")
            .group_by(ReviewItemRow.feature)
        )
        with self._read() as session:
            return {str(feature): int(n) for feature, n in session.execute(query)}


def _hour(value: datetime | str) -> datetime:
    """The hour as an aware UTC datetime (SQLite gives it back as text)."""
    hour = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return hour.replace(tzinfo=UTC) if hour.tzinfo is None else hour.astimezone(UTC)


def _user(row: WebUserRow) -> WebUser:
    return WebUser(
        id=row.id,
        name=row.name,
        role=row.role,
        password_hash=row.password_hash,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        disabled_at=row.disabled_at,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )
