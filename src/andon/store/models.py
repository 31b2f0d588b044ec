"""ORM tables of the store; rows stay inside ``andon.store`` and leave it as records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

# Named constraints let later SQLite batch migrations find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64  # sha256 hex; short enough for any generated id too


def json_type(*, none_as_null: bool = False) -> TypeEngine[Any]:
    """JSON kept as written: PostgreSQL ``json``, not ``jsonb``, which reorders keys and turns 1e16 into an int.

    Provenance must give back exactly what was stored; cast to jsonb in a query when indexing is needed.
    """
    return JSON(none_as_null=none_as_null)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite stores them naive, so the zone is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the store needs timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ModelText(TypeDecorator[str]):
    """Free text from models; NUL becomes U+FFFD on every backend, as PostgreSQL text cannot hold NUL.

    Losing one character beats losing a whole batch of outputs; ``raw`` (JSON) keeps the exact reply.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class VersionRow(Base):
    """One immutable version, stored once per content hash."""

    __tablename__ = "versions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VersionNameRow(Base):
    """History of which id a name of a feature pointed to; the row with the highest ``id`` wins."""

    __tablename__ = "version_names"
    __table_args__ = (Index(None, "feature", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feature: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[str] = mapped_column(ForeignKey("versions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutputRow(Base):
    """One output with its provenance; mirrors ``OutputRecord`` field by field."""

    __tablename__ = "outputs"
    __table_args__ = (Index(None, "feature", "version_id"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    provider: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(json_type())
    messages: Mapped[list[dict[str, Any]]] = mapped_column(json_type())
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    output_text: Mapped[str | None] = mapped_column(ModelText)
    output_json: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    error: Mapped[str | None] = mapped_column(ModelText)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    latency_ms: Mapped[float] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column()
    raw: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(json_type())
    context: Mapped[dict[str, Any]] = mapped_column(json_type())


class CacheRow(Base):
    """A cached provider response keyed by the sha256 of its request."""

    __tablename__ = "response_cache"

    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunRow(Base):
    """One evaluation run."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    dataset: Mapped[str] = mapped_column(Text)
    dataset_sha256: Mapped[str] = mapped_column(String(64))
    repeats: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    versions: Mapped[list[list[str]]] = mapped_column(json_type())
    config: Mapped[dict[str, Any]] = mapped_column(json_type())
    n_cases: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class RunCaseRow(Base):
    """A snapshot of one case as it was when the run started, so reports never depend on the file again."""

    __tablename__ = "run_cases"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(json_type())


class RunResultRow(Base):
    """One graded cell of a run: a version on a case, one repeat."""

    __tablename__ = "run_results"
    __table_args__ = (UniqueConstraint("run_id", "version_id", "case_id", "repeat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    version_name: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[str] = mapped_column(String(200))
    repeat: Mapped[int] = mapped_column(Integer)
    output_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column()
    grades: Mapped[list[dict[str, Any]]] = mapped_column(json_type())
    output_text: Mapped[str | None] = mapped_column(ModelText, nullable=True)
    output_json: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    error: Mapped[str | None] = mapped_column(ModelText, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    cached: Mapped[bool] = mapped_column()
    predicted_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expected_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
