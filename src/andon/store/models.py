"""ORM tables of the store; rows stay inside ``andon.store`` and leave it as records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
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


class LiveVersionRow(Base):
    """History of which version a feature serves: the newest row is live; nothing is ever overwritten."""

    __tablename__ = "live_versions"
    __table_args__ = (Index(None, "feature", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feature: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    version_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # promote | rollback
    forced: Mapped[bool] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)  # the evaluation it was judged on
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The criteria andon.yaml had when it was promoted, and the hash of the run's own (they differ when forced
    # past changed criteria). None on rollbacks and on rows from before they were recorded.
    criteria: Mapped[dict[str, Any] | None] = mapped_column(json_type(none_as_null=True), nullable=True)
    criteria_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_criteria_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class TraceRow(Base):
    """One production call through the gateway, with provenance; append-only."""

    __tablename__ = "traces"
    __table_args__ = (Index(None, "feature", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    version_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    output_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)  # provenance in `outputs`
    route: Mapped[str] = mapped_column(String(20))  # ai | human | shadow | fallback
    status: Mapped[str] = mapped_column(String(20))  # ok | error | queued
    cache: Mapped[str | None] = mapped_column(String(20), nullable=True)  # exact | semantic | None
    input_mode: Mapped[str] = mapped_column(String(20))  # full | redacted | hash
    input: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    output_text: Mapped[str | None] = mapped_column(ModelText, nullable=True)
    output_json: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    error: Mapped[str | None] = mapped_column(ModelText, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    queue_ms: Mapped[float] = mapped_column(Float)
    cache_ms: Mapped[float] = mapped_column(Float)
    provider_ms: Mapped[float] = mapped_column(Float)
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tenant: Mapped[str | None] = mapped_column(String(200), nullable=True)
    api_key_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    tags: Mapped[dict[str, Any]] = mapped_column(json_type())
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # e.g. why a fallback was taken
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class FeedbackRow(Base):
    """Feedback on one trace: a score or thumbs, and a comment."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Not a foreign key (migration 0023): PostgreSQL's partitioned traces are unique on (id, created_at) only.
    trace_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    thumbs: Mapped[int | None] = mapped_column(Integer, nullable=True)  # +1 | -1
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewItemRow(Base):
    """An item waiting for (or given) a human decision; keeps the AI's suggestion."""

    __tablename__ = "review_items"
    __table_args__ = (Index(None, "feature", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200))
    trace_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True, index=True)
    version_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    reason: Mapped[str] = mapped_column(String(40))  # stopped | low_confidence | policy | shadow | fallback
    status: Mapped[str] = mapped_column(String(20))  # pending | decided
    input: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    suggestion_text: Mapped[str | None] = mapped_column(ModelText, nullable=True)
    suggestion_json: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    decision: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKeyRow(Base):
    """An API key: only its sha256 is kept; the secret is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(json_type())
    rate_limit_per_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SemanticCacheRow(Base):
    """One cached answer, isolated by feature, version, tenant and API key, with its input embedding.

    ``text`` is the cache key as the feature's ``data_use`` allows (redacted, or "" for hash-only features).
    """

    __tablename__ = "semantic_cache"
    __table_args__ = (Index(None, "feature", "version_id", "tenant", "api_key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feature: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    tenant: Mapped[str] = mapped_column(String(200))
    api_key_id: Mapped[str] = mapped_column(String(ID_LENGTH), default="", server_default="")  # "" = shared
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(ModelText)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    output_text: Mapped[str | None] = mapped_column(ModelText, nullable=True)
    output_json: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class FeatureEventRow(Base):
    """Audited changes of a feature's runtime state: stop/resume and data-use grants, with who and why."""

    __tablename__ = "feature_events"
    __table_args__ = (Index(None, "feature", "kind", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feature: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # stopped | resumed | cases_allowed | cases_denied
    value: Mapped[dict[str, Any]] = mapped_column(json_type())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IncidentRow(Base):
    """An incident: where it stands among the seven stages, and what was found and decided."""

    __tablename__ = "incidents"
    __table_args__ = (Index(None, "feature", "opened_at"), Index(None, "monitor", "opened_at"))

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(30))
    monitor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    metric: Mapped[str | None] = mapped_column(String(200), nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(400), nullable=True)
    # The dedupe key while the incident is open, NULL once closed: the unique index makes "one open
    # incident per key" hold across processes, while closed ones may share it.
    open_key: Mapped[str | None] = mapped_column(String(400), nullable=True, unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    false_alarm: Mapped[bool | None] = mapped_column(nullable=True)
    cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(30), nullable=True)
    runbook: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(json_type())
    stages: Mapped[dict[str, Any]] = mapped_column(json_type())  # stage -> {"at": iso, "actor": name}
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every change (optimistic check)


class IncidentEventRow(Base):
    """One entry of an incident's timeline: a stage reached, a note, a cord pull, an alert; append-only."""

    __tablename__ = "incident_events"
    __table_args__ = (Index(None, "incident_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # stage | note | cord | alert_firing | alert_resolved
    stage: Mapped[str | None] = mapped_column(String(30), nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(json_type())
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    """One notification to deliver, written in the transaction of the incident change that caused it."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(500), unique=True)  # incident:stage:notifier
    incident_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    stage: Mapped[str] = mapped_column(String(30))
    notifier: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(json_type())
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # masked: never a URL token or password
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WatchStateRow(Base):
    """A monitor's saved state: its detector and its breach bookkeeping, so a restart goes on where it stopped."""

    __tablename__ = "watch_state"

    monitor: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # ok | warn | fail | no_data | paused | error | breached
    state: Mapped[dict[str, Any]] = mapped_column(json_type())
    last_ts: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WatchPointRow(Base):
    """One measurement of a monitor and the detector's verdict on it; one row per monitor and tick."""

    __tablename__ = "watch_points"
    __table_args__ = (
        UniqueConstraint("monitor", "ts"),
        # Covering the chart's read (migration 0022): a week of minutes comes from the index alone.
        Index("ix_watch_points_series", "monitor", "ts", "value", "state", "band_low", "band_high"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor: Mapped[str] = mapped_column(String(200))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    successes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trials: Mapped[int | None] = mapped_column(Integer, nullable=True)
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    fired: Mapped[bool] = mapped_column()
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)  # act | shadow | cooldown | resume
    mode: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the detector's expected (low, high) for the value, drawn as the Monitors chart's band (0017_webfinish)
    band_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    band_high: Mapped[float | None] = mapped_column(Float, nullable=True)


class WatchLeaseRow(Base):
    """Which watcher evaluates a monitor now: taken and renewed by compare-and-set on ``token`` (the fence)."""

    __tablename__ = "watch_leases"

    monitor: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CordPullRow(Base):
    """One pull of the cord (stop, rollback, webhook) or automatic resume: claimed, then done; audited."""

    __tablename__ = "cord_pulls"
    __table_args__ = (UniqueConstraint("dedupe_key", "action"), Index(None, "feature", "id"), Index(None, "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(20))  # stop | rollback | webhook | resume
    feature: Mapped[str] = mapped_column(String(200))
    monitor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | done
    params: Mapped[dict[str, Any]] = mapped_column(json_type())  # what a retry needs: detected_at, runbook, …
    incident_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(json_type())
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WatchMetricRow(Base):
    """A value pushed to ``POST /v1/metrics`` for a ``pushed`` monitor source."""

    __tablename__ = "watch_metrics"
    __table_args__ = (Index(None, "metric", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric: Mapped[str] = mapped_column(String(200))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[float] = mapped_column(Float)
    api_key_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- okr ---


class OkrTeamRow(Base):
    """A team of the OKR hierarchy (``parent`` is another team's id)."""

    __tablename__ = "okr_teams"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    parent: Mapped[str | None] = mapped_column(ForeignKey("okr_teams.id"), nullable=True)
    members: Mapped[list[str]] = mapped_column(json_type())


class OkrPeriodRow(Base):
    """A quarter or a year; once ``closed_at`` is set its objectives, key results and check-ins are frozen."""

    __tablename__ = "okr_periods"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)  # inclusive
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OkrObjectiveRow(Base):
    """An objective of one team in one period, optionally aligned to a parent objective."""

    __tablename__ = "okr_objectives"
    __table_args__ = (Index(None, "period", "team"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(ForeignKey("okr_teams.id"))
    period: Mapped[str] = mapped_column(ForeignKey("okr_periods.id"))
    parent: Mapped[str | None] = mapped_column(ForeignKey("okr_objectives.id"), nullable=True)
    key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OkrKeyResultRow(Base):
    """A key result: how progress is measured (start → target, direction, band) and what feeds it."""

    __tablename__ = "okr_key_results"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    objective: Mapped[str] = mapped_column(ForeignKey("okr_objectives.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(50))
    start: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(20))  # increase | decrease | range
    low: Mapped[float | None] = mapped_column(Float, nullable=True)
    high: Mapped[float | None] = mapped_column(Float, nullable=True)
    weight: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))  # metric | milestone
    binding: Mapped[dict[str, Any] | None] = mapped_column(json_type(none_as_null=True), nullable=True)
    key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OkrCheckInRow(Base):
    """One value of a key result; (key_result, source, step) is unique so a scheduled sync writes once per step."""

    __tablename__ = "okr_checkins"
    __table_args__ = (UniqueConstraint("key_result", "source", "step"), Index(None, "key_result", "created_at"))

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key_result: Mapped[str] = mapped_column(ForeignKey("okr_key_results.id"))
    value: Mapped[float] = mapped_column(Float)
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(100))
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(json_type(none_as_null=True), nullable=True)
    step: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OkrEventRow(Base):
    """One entry of a key result's history: created, target/owner/definition/binding changed, a major event."""

    __tablename__ = "okr_kr_events"
    __table_args__ = (Index(None, "key_result", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key_result: Mapped[str] = mapped_column(ForeignKey("okr_key_results.id"))
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    before: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    after: Mapped[Any] = mapped_column(json_type(none_as_null=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OkrWorkItemRow(Base):
    """A ticket imported from Jira, GitHub or CSV; one row per (source, external_id)."""

    __tablename__ = "okr_work_items"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(100))
    done: Mapped[bool] = mapped_column()
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    labels: Mapped[list[str]] = mapped_column(json_type())
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    kind: Mapped[str] = mapped_column(String(50))


class OkrWorkLinkRow(Base):
    """A typed link of a work item to a key result: ``measures`` moves it, ``contributes`` is shown only."""

    __tablename__ = "okr_work_links"
    __table_args__ = (Index(None, "key_result"),)

    work_item: Mapped[str] = mapped_column(ForeignKey("okr_work_items.id"), primary_key=True)
    key_result: Mapped[str] = mapped_column(ForeignKey("okr_key_results.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str | None] = mapped_column(Text, nullable=True)


class OkrImportCursorRow(Base):
    """Where an importer stopped (ETag, updated-since), so the next import asks only for what changed."""

    __tablename__ = "okr_import_cursors"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(json_type())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- web ---


class WebUserRow(Base):
    """A person who signs in to the dashboard: an argon2 hash of the password, a role, failed sign-ins."""

    __tablename__ = "web_users"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # viewer | reviewer | admin
    password_hash: Mapped[str] = mapped_column(String(400))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebSessionRow(Base):
    """A signed-in browser: the sha256 of its cookie (never the cookie), its CSRF token and its expiry."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ReviewClaimRow(Base):
    """Who is looking at a review item now: taken by compare-and-set, so two reviewers never get the same one."""

    __tablename__ = "review_claims"

    review_id: Mapped[str] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- webruns ---


class RunCaseTagRow(Base):
    """One tag of one case of a run, so the dashboard filters a run's cells by tag in the database."""

    __tablename__ = "run_case_tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)


# The run page pages a run's cells in id order, over the whole run or one version's cells (keyset paging).
Index("ix_run_results_run_id_id", RunResultRow.run_id, RunResultRow.id)
Index("ix_run_results_run_id_version_id_id", RunResultRow.run_id, RunResultRow.version_id, RunResultRow.id)
# --- end webruns ---
# --- webtraces ---
# The Traces page's filters, each served in newest-first order (migration 0013). Its text index lives beside
# the models, not in them: an FTS5 table on SQLite, a GIN expression index on PostgreSQL (store/webtraces.py).
TRACE_FILTER_INDEXES: dict[str, tuple[str, ...]] = {
    "ix_traces_created_at_id": ("created_at", "id"),
    "ix_traces_status_created_at": ("status", "created_at", "id"),
    "ix_traces_route_created_at": ("route", "created_at", "id"),
    "ix_traces_version_created_at": ("version_id", "created_at", "id"),
    "ix_traces_tenant_created_at": ("tenant", "created_at", "id"),
    "ix_traces_user_created_at": ("user_id", "created_at", "id"),
}
for _name, _columns in TRACE_FILTER_INDEXES.items():
    Index(_name, *(TraceRow.__table__.c[c] for c in _columns))
# --- end webtraces ---
# --- trust ---


class ConsentRow(Base):
    """An end user's (or tenant's) own choice about their data: off until they say yes (issue 15)."""

    __tablename__ = "consents"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # user | tenant
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)  # the id the client sends
    cases: Mapped[bool] = mapped_column(Boolean, default=False)  # inputs may become test cases
    improve: Mapped[bool] = mapped_column(Boolean, default=False)  # inputs may be used to improve the feature
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- rollout ---


class RolloutRow(Base):
    """One canary rollout of a feature: stable and canary versions, its step, the canary's weight, its status.

    ``active_key`` is the feature while the rollout runs or is paused, NULL after: a unique column, so two
    rollouts of one feature cannot be active at once, whichever process starts them.
    """

    __tablename__ = "rollouts"
    __table_args__ = (Index(None, "feature", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200))
    stable_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    stable_name: Mapped[str] = mapped_column(String(200))
    canary_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    canary_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # running | paused | degraded | aborted | promoted
    step: Mapped[int] = mapped_column(Integer)  # 0-based index into settings["steps"]
    weight: Mapped[int] = mapped_column(Integer)  # the canary's share in basis points (0 once rolled back)
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settings: Mapped[dict[str, Any]] = mapped_column(json_type())  # the rollout config it started with
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    active_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    live_row_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the live_versions row it promoted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every change (compare-and-set)


class RolloutEventRow(Base):
    """One audited event of a rollout: started, a step's analysis with its evidence, a decision, a person's act."""

    __tablename__ = "rollout_events"
    __table_args__ = (Index(None, "rollout_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str] = mapped_column(ForeignKey("rollouts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    step: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(json_type())
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- end rollout ---
# --- guard ---
# A guard's route (issue 15) puts an item at the head of the review queue: a person at risk is not kept
# waiting behind older routine items (migration 0016). Added here, not in the row class, to keep it fenced.
ReviewItemRow.priority = mapped_column(Integer, default=0, server_default="0", nullable=False)
Index("ix_review_items_status_priority_created_at", ReviewItemRow.__table__.c.status,
      ReviewItemRow.__table__.c.priority, ReviewItemRow.__table__.c.created_at)  # fmt: skip
# --- end guard ---
# --- webfinish ---
# The Traces page's route + version filter: two broad filters with few (or no) rows in common are read from
# one index in newest-first order, instead of walking every row of one of them (0017_webfinish).
TRACE_ROUTE_VERSION_INDEX = "ix_traces_route_version_created_at"
Index(TRACE_ROUTE_VERSION_INDEX, TraceRow.route, TraceRow.version_id, TraceRow.created_at, TraceRow.id)
# --- end webfinish ---
# --- web10 ---


class RunSummaryRow(Base):
    """A finished run's summaries as the dashboard built them once, per state of its criteria (0018_web10)."""

    __tablename__ = "run_summaries"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of what the summaries depend on
    data: Mapped[str] = mapped_column(Text)  # JSON text: a summary may hold NaN, which JSONB refuses
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- end web10 ---
