"""API keys in the store: only the sha256 of a secret is kept; revoking keeps the row for the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import ApiKeyRow, utcnow
from andon.store.refs import MIN_PREFIX, get_by_ref


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One API key as stored: never the secret, only its hash and the first characters to recognise it."""

    id: str
    name: str
    prefix: str
    secret_hash: str
    scopes: tuple[str, ...]
    rate_limit_per_min: int | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the key may still be used."""
        return self.revoked_at is None


class KeysMixin(StoreBase):
    """API key methods of :class:`andon.store.Store`."""

    def add_api_key(
        self,
        *,
        key_id: str,
        name: str,
        prefix: str,
        secret_hash: str,
        scopes: list[str],
        rate_limit_per_min: int | None,
    ) -> ApiKeyRecord:
        """Store a new key (its hash only) and return it."""
        row = ApiKeyRow(
            id=key_id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=list(scopes),
            rate_limit_per_min=rate_limit_per_min,
            created_at=utcnow(),
            revoked_at=None,
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return _record(row)

    def api_key_by_hash(self, secret_hash: str) -> ApiKeyRecord | None:
        """The key whose secret hashes to ``secret_hash`` (revoked or not), or None."""
        with self._read() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.secret_hash == secret_hash))
            return None if row is None else _record(row)

    def list_api_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        """Keys, oldest first; revoked ones only when asked."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self._read() as session:
            return [_record(row) for row in session.scalars(query)]

    def revoke_api_key(self, ref: str) -> ApiKeyRecord:
        """Revoke the key with id ``ref`` (or a unique id prefix); revoking twice keeps the first time."""
        with self._write() as session:
            hint = t("polish.notfound.key_hint", n=MIN_PREFIX)
            row = get_by_ref(session, ApiKeyRow, ref, t("house.ref.what.api_key"), hint)
            if row.revoked_at is None:
                session.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(revoked_at=utcnow()))
                session.refresh(row)
            return _record(row)


def _record(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        secret_hash=row.secret_hash,
        scopes=tuple(row.scopes),
        rate_limit_per_min=row.rate_limit_per_min,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
