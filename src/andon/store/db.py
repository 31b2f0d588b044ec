"""Engines for the store: URL resolution, per-connection settings and automatic migration."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from andon.errors import StoreError
from andon.messages import t

if TYPE_CHECKING:
    from alembic.config import Config

DATABASE_URL_ENV = "ANDON_DATABASE_URL"
STORE_DIR = ".andon"
SQLITE_FILE = "andon.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
VERSION_TABLE = "andon_schema_version"  # not alembic_version: a shared database may hold other apps' migrations
WRITE_OPTION = "andon_write"  # execution option: on SQLite, begin with BEGIN IMMEDIATE
_MIGRATE_LOCK_KEY = 0x616E646F6E  # b"andon": one advisory lock for every andon store on a server
_MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PASSWORD_IN_URL = re.compile(r"(//[^/:@]*:)[^@/]*@")


def _url_hint() -> str:
    return t("house2.store.url_hint")


def resolve_database_url(workspace_dir: Path | None) -> str:
    """ANDON_DATABASE_URL if set, else the SQLite file ``<workspace>/.andon/andon.db`` (cwd if None)."""
    from_env = os.environ.get(DATABASE_URL_ENV, "").strip()
    if from_env:
        return from_env
    workspace = (workspace_dir or Path.cwd()).resolve()
    return f"sqlite:///{workspace / STORE_DIR / SQLITE_FILE}"


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, for messages and logs."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return _PASSWORD_IN_URL.sub(r"\1***@", str(url))
    return parsed.render_as_string(hide_password=True)


def parse_url(url: str) -> URL:
    """Parse and check a database URL; ``postgres://`` and ``postgresql://`` get the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(t("house2.store.not_url", url=mask_url(url)), hint=_url_hint()) from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(t("house2.store.backend", url=mask_url(parsed), backend=backend), hint=_url_hint())
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_store_engine(url: str) -> Engine:
    """An engine with andon's settings: WAL, foreign keys and a busy timeout on SQLite; psycopg 3 on PG."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps}
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"check_same_thread": False}
        path = _sqlite_file(parsed)
        if path is None:
            # One shared connection, else every pooled connection would see its own empty memory database.
            kwargs["poolclass"] = StaticPool
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    t("house2.store.folder", folder=path.parent, error=exc.strerror), hint=t("house2.store.folder_hint")
                ) from exc
        kwargs["connect_args"] = connect_args
    else:
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(t("house2.store.cannot_use_db", url=mask_url(parsed), error=exc), hint=_url_hint()) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _json_dumps(value: Any) -> str:
    # Readable non-ASCII text (Korean prompts) in the database.
    return json.dumps(value, ensure_ascii=False)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # isolation_level=None stops sqlite3 from issuing its own BEGINs; _sqlite_on_begin issues ours,
    # which makes DDL transactional and lets writers take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # A deferred transaction that later writes can fail at once with SQLITE_BUSY (no waiting) when
    # another writer got in first; BEGIN IMMEDIATE waits for the lock under busy_timeout instead.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(connection: Connection) -> Config:
    """An Alembic config built in code (no alembic.ini) that migrates over ``connection``."""
    from alembic.config import Config  # Alembic loads only when a store opens

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS_DIR))
    cfg.set_main_option("version_table", VERSION_TABLE)
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration, one process at a time."""
    from alembic import command
    from alembic.util import CommandError

    with connection_errors(engine), engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Held until commit: a second process waits, then finds the schema already current.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK_KEY})
            # On SQLite the BEGIN IMMEDIATE above is the lock.
            try:
                command.upgrade(alembic_config(conn), "head")
            except CommandError as exc:
                raise StoreError(
                    t("house2.store.migrate", url=mask_url(engine.url), error=exc), hint=t("house2.store.migrate_hint")
                ) from exc


@contextmanager
def connection_errors(engine: Engine) -> Iterator[None]:
    """Turn a failure to reach or use the database into a StoreError naming the (masked) URL."""
    try:
        yield
    except DBAPIError as exc:
        if exc.orig is None or not _is_connection_failure(engine, exc.orig):
            raise
        detail = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        raise StoreError(
            t("house2.store.cannot_use", url=mask_url(engine.url), error=detail), hint=_hint(engine)
        ) from exc


def _is_connection_failure(engine: Engine, error: BaseException) -> bool:
    # Unreachable server, missing/locked file, or (SQLite) a file that is not a database; integrity
    # and programming errors are bugs and pass through untouched.
    dbapi = engine.dialect.loaded_dbapi
    return isinstance(error, dbapi.OperationalError) or type(error) is dbapi.DatabaseError


def _hint(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return t("house2.store.sqlite_hint")
    return t("house2.store.server_hint", url_hint=_url_hint())
