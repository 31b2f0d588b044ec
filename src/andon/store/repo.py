"""The Store: versions, outputs and the response cache, read and written in whole transactions."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from andon.errors import NotFoundError, StoreError
from andon.messages import t
from andon.store.agreement import AgreementMixin
from andon.store.approvals import ApprovalsMixin
from andon.store.caselinks import CaseLinksMixin
from andon.store.db import (
    DATABASE_URL_ENV,
    WRITE_OPTION,
    connection_errors,
    create_store_engine,
    mask_url,
    migrate,
    resolve_database_url,
)
from andon.store.deploy import DeployMixin
from andon.store.dossier import DossierMixin
from andon.store.experiments import ExperimentsMixin
from andon.store.incidents import IncidentsMixin
from andon.store.keys import KeysMixin
from andon.store.knowledge import KnowledgeMixin
from andon.store.models import CacheRow, OutputRow, VersionNameRow, VersionRow, utcnow
from andon.store.monpages import MonPagesMixin
from andon.store.okr import OkrMixin
from andon.store.outbox import OutboxMixin
from andon.store.records import OutputRecord, VersionRecord
from andon.store.refs import MIN_PREFIX, get_by_ref, prefix_matches
from andon.store.reviews import ReviewsMixin
from andon.store.rollouts import RolloutsMixin
from andon.store.runs import RunsMixin
from andon.store.runsummary import RunSummaryMixin
from andon.store.semcache import SemanticCacheMixin
from andon.store.spans import SpansMixin
from andon.store.traces import TracesMixin
from andon.store.trust import TrustMixin
from andon.store.watch import WatchMixin
from andon.store.web import WebMixin
from andon.store.webtraces import WebTracesMixin

_LIST_LIMIT = 10  # how many known names an error message lists
_OUTPUT_FIELDS = tuple(f.name for f in dataclasses.fields(OutputRecord))


class Store(
    RunsMixin,
    TracesMixin,
    KeysMixin,
    SemanticCacheMixin,
    DeployMixin,
    DossierMixin,
    ReviewsMixin,
    IncidentsMixin,
    OutboxMixin,
    WatchMixin,
    OkrMixin,
    WebMixin,
    WebTracesMixin,
    TrustMixin,
    MonPagesMixin,
    RolloutsMixin,
    ExperimentsMixin,
    AgreementMixin,
    CaseLinksMixin,
    RunSummaryMixin,
    SpansMixin,
    KnowledgeMixin,
    ApprovalsMixin,
):
    """Versions, outputs and cached responses in SQLite or PostgreSQL; open with ``Store.open``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self.url = mask_url(engine.url)
        self.dialect: Literal["sqlite", "postgresql"] = (
            "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
        )

    @classmethod
    def open(cls, url: str | None = None, *, workspace: Path | None = None) -> Store:
        """Open (creating and migrating as needed) the store at ``url``, ANDON_DATABASE_URL or the workspace."""
        from_env = url is None and bool(os.environ.get(DATABASE_URL_ENV, "").strip())
        try:
            engine = create_store_engine(url or resolve_database_url(workspace))
            try:
                migrate(engine)
            except BaseException:
                engine.dispose()
                raise
        except StoreError as exc:
            if from_env and exc.where is None:
                exc.where = DATABASE_URL_ENV  # say where the URL came from
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for store modules added later and for tests."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with connection_errors(self._engine), Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        # Commits when the block ends, rolls back on any exception: all or nothing.
        with (
            connection_errors(self._engine),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def _insert(self, model: type[Any]) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(model) if self.dialect == "postgresql" else sqlite.insert(model)

    # versions

    def register_version(self, feature: str, name: str, version_id: str, content: dict[str, Any]) -> VersionRecord:
        """Store a version once per id and point ``name`` at it (a new history row only if it moved)."""
        with self._write() as session:
            session.execute(
                self._insert(VersionRow)
                .values(id=version_id, feature=feature, content=content, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["id"])
            )
            if self._latest_id(session, feature, name) != version_id:
                session.add(VersionNameRow(feature=feature, name=name, version_id=version_id))
            row = session.get_one(VersionRow, version_id)
            return _version_record(row, feature, name)

    def get_version(self, feature: str, ref: str) -> VersionRecord:
        """The version named ``ref`` (latest), with id ``ref``, or with a unique id prefix of ≥ 6 chars."""
        with self._read() as session:
            version_id = self._latest_id(session, feature, ref)
            if version_id is not None:
                return _version_record(session.get_one(VersionRow, version_id), feature, ref)
            ids = self._feature_ids(session, feature)
            matches = [ref] if ref in ids else prefix_matches(ids, ref)
            if len(matches) == 1:
                row = session.get_one(VersionRow, matches[0])
                return _version_record(row, feature, self._latest_name(session, feature, row.id))
            raise self._version_not_found(session, feature, ref, matches)

    def list_versions(self, feature: str) -> list[VersionRecord]:
        """Every version of ``feature``, oldest first, each with the latest name that pointed to it."""
        with self._read() as session:
            history = session.scalars(
                select(VersionNameRow).where(VersionNameRow.feature == feature).order_by(VersionNameRow.id)
            ).all()
            latest_name: dict[str, str] = {}
            for entry in history:  # insertion order: first sight orders, last sight names
                latest_name[entry.version_id] = entry.name
            first_seen = list(dict.fromkeys(entry.version_id for entry in history))
            rows = {
                row.id: row for row in session.scalars(select(VersionRow).where(VersionRow.id.in_(first_seen))).all()
            }
            return [_version_record(rows[vid], feature, latest_name[vid]) for vid in first_seen]

    @staticmethod
    def _latest_id(session: Session, feature: str, name: str) -> str | None:
        return session.scalar(
            select(VersionNameRow.version_id)
            .where(VersionNameRow.feature == feature, VersionNameRow.name == name)
            .order_by(VersionNameRow.id.desc())
            .limit(1)
        )

    @staticmethod
    def _latest_name(session: Session, feature: str, version_id: str) -> str:
        name = session.scalar(
            select(VersionNameRow.name)
            .where(VersionNameRow.feature == feature, VersionNameRow.version_id == version_id)
            .order_by(VersionNameRow.id.desc())
            .limit(1)
        )
        return name or ""

    @staticmethod
    def _feature_ids(session: Session, feature: str) -> set[str]:
        # Membership goes through names: identical content may be shared by two features.
        return set(session.scalars(select(VersionNameRow.version_id).where(VersionNameRow.feature == feature)).all())

    def _version_not_found(self, session: Session, feature: str, ref: str, matches: list[str]) -> NotFoundError:
        where = t("house2.version.where", feature=feature)
        if matches:
            shown = ", ".join(sorted(m[:16] for m in matches)[:_LIST_LIMIT])
            return NotFoundError(
                t("house2.version.ambiguous", ref=ref, n=len(matches), shown=shown),
                where=where,
                hint=t("house2.version.ambiguous_hint"),
            )
        current: dict[str, str] = {}
        for entry in session.scalars(
            select(VersionNameRow).where(VersionNameRow.feature == feature).order_by(VersionNameRow.id)
        ):
            current[entry.name] = entry.version_id
        if not current:
            features = sorted(set(session.scalars(select(VersionNameRow.feature)).all()))
            known = ", ".join(features[:_LIST_LIMIT]) or t("house2.version.none_yet")
            return NotFoundError(
                t("house2.version.none_stored", known=known), where=where, hint=t("house2.version.none_stored_hint")
            )
        names = sorted(current)
        listed = ", ".join(f"{n} ({current[n][:12]})" for n in names[:_LIST_LIMIT])
        more = t("house2.version.more", n=len(names) - _LIST_LIMIT) if len(names) > _LIST_LIMIT else ""
        return NotFoundError(
            t("house2.version.missing", ref=ref, listed=listed, more=more),
            where=where,
            hint=t("house2.version.missing_hint", min=MIN_PREFIX),
        )

    # outputs

    def save_outputs(self, records: Sequence[OutputRecord]) -> None:
        """Store all ``records`` in one transaction: all of them or none."""
        if not records:
            return
        for record in records:
            _require_aware(record.started_at, "started_at", record.id)
            _require_aware(record.finished_at, "finished_at", record.id)
        rows = [{name: getattr(record, name) for name in _OUTPUT_FIELDS} for record in records]
        with self._write() as session:
            session.execute(insert(OutputRow), rows)

    def save_output(self, record: OutputRecord) -> None:
        """Store one output."""
        self.save_outputs([record])

    def get_output(self, ref: str) -> OutputRecord:
        """The output with id ``ref``, or the only one whose id starts with ``ref`` (≥ 6 chars)."""
        with self._read() as session:
            what = t("house.ref.what.output")
            row = get_by_ref(session, OutputRow, ref, what, t("polish.notfound.output_hint", n=MIN_PREFIX))
            return OutputRecord(**{name: getattr(row, name) for name in _OUTPUT_FIELDS})

    # response cache

    def cache_get(self, key: str) -> dict[str, Any] | None:
        """The cached value for ``key``, or None."""
        with self._read() as session:
            row = session.get(CacheRow, key)
            return None if row is None else row.value

    def cache_put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``, replacing any earlier value (safe against concurrent writers)."""
        stmt = self._insert(CacheRow).values(key=key, value=value, created_at=utcnow())
        upsert: Insert = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": stmt.excluded.value, "created_at": stmt.excluded.created_at}
        )
        with self._write() as session:
            session.execute(upsert)


def _version_record(row: VersionRow, feature: str, name: str) -> VersionRecord:
    return VersionRecord(id=row.id, feature=feature, name=name, content=row.content, created_at=row.created_at)


def _require_aware(value: datetime, field: str, record_id: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"output {record_id}: {field} is a naive datetime; use a timezone-aware one (UTC)")
