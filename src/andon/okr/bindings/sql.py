"""``sql``: one number from a read-only query on a team's own PostgreSQL or SQLite database.

The connection is read-only before the query runs (PostgreSQL: ``default_transaction_read_only`` and a
``READ ONLY`` transaction, SQLite: ``mode=ro`` and an authorizer that allows reading only), the query has a
statement timeout and is one statement, and anything but one row of one numeric column is refused. Passwords
come from the environment (``${VAR}`` in the URL), never from the spec, and are never printed or stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from andon.messages import t
from andon.okr.bindings.base import Binding, BindingContext, BindingError, BindingSettings, Reading, finite

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_POSTGRES = ("postgres", "postgresql", "postgresql+psycopg")
_SQLITE = ("sqlite", "sqlite+pysqlite")
_READ_WRITE_SQLSTATE = "25006"  # read_only_sql_transaction
_CANCELED_SQLSTATE = "57014"  # query_canceled: the statement timeout
# What a read-only query may do in SQLite: read tables, call functions, recurse in CTEs, nothing else.
_SQLITE_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}


class SqlSettings(BindingSettings):
    """``url`` (``postgresql://user:${PGPASSWORD}@host/db`` or ``sqlite:///path``), ``query``, ``timeout_s``."""

    type: Literal["sql"] = "sql"
    url: str = Field(description="postgresql://… (password as ${VAR}) or sqlite:///path (relative: to the workspace).")
    query: str = Field(description="One read-only statement returning one row with one numeric column.")
    timeout_s: float = Field(default=5.0, gt=0, le=300, description="Statement (and connection) timeout in seconds.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = _parse(value)
        if url.drivername not in (*_POSTGRES, *_SQLITE):
            raise ValueError(t("okr.bind.sql.backend", driver=url.drivername))
        if url.password is not None and not _ENV_REF.fullmatch(str(url.password)):
            raise ValueError(t("okr.bind.sql.literal_password"))
        if url.drivername in _SQLITE and not url.database:
            raise ValueError(t("okr.bind.sql.no_file"))
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not value.strip().rstrip(";").strip():
            raise ValueError(t("okr.bind.sql.empty_query"))
        return value


class SqlBinding(Binding):
    """A read-only query on a team's database returning one number."""

    type_name: ClassVar[str] = "sql"
    Settings: ClassVar[type[BindingSettings]] = SqlSettings
    settings: SqlSettings

    def describe(self) -> str:
        """The backend and the query's hash (the URL may carry a user and host; the query may be long)."""
        return f"sql {_backend(self.settings.url)} {query_hash(self.settings.query)}"

    def read(self, context: BindingContext) -> Reading:
        """Run the query read-only; its one number, or a BindingError saying what was wrong with the answer."""
        s = self.settings
        secrets: list[str] = []
        url = _expand(s.url, os.environ, secrets)
        query = s.query.strip().rstrip(";").strip()
        try:
            if url.drivername in _SQLITE:
                columns, rows = _sqlite_rows(_sqlite_path(url, context.ws.root), query, s.timeout_s)
            else:
                columns, rows = _postgres_rows(url, query, s.timeout_s)
        except BindingError as exc:
            raise BindingError(_hide(exc.message, secrets), where=exc.where, hint=exc.hint) from None
        value = one_number(columns, rows)
        snapshot = {
            "backend": _backend(s.url),
            "url": safe_url(s.url),
            "query_sha256": query_hash(s.query),
            "column": columns[0],
            "value": value,
        }
        return Reading(finite(value, "sql"), snapshot)


def query_hash(query: str) -> str:
    """The first 16 hex digits of the SHA-256 of the query as written: the snapshot says which query it was."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]


def safe_url(url: str) -> str:
    """The URL as written, password hidden (``${VAR}`` references are kept: they name, not carry, the secret)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "***"
    return parsed.render_as_string(hide_password=True)


def one_number(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> float:
    """The single value of a one-row, one-column answer as a float; anything else is a BindingError saying why."""
    if len(columns) != 1:
        raise BindingError(t("okr.bind.sql.columns", count=len(columns), names=", ".join(columns) or "-"))
    if len(rows) != 1:
        key = "okr.bind.sql.no_row" if not rows else "okr.bind.sql.rows"
        raise BindingError(t(key), hint=t("okr.bind.hint.one_row"))
    value = rows[0][0]
    if value is None:
        raise BindingError(t("okr.bind.sql.null", column=columns[0]), hint=t("okr.bind.hint.coalesce"))
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise BindingError(
            t("okr.bind.sql.not_number", column=columns[0], kind=type(value).__name__, value=str(value)[:40]),
            hint=t("okr.bind.hint.cast"),
        )
    number = float(value)
    if not math.isfinite(number):
        raise BindingError(t("okr.bind.not_finite", what=columns[0], value=number))
    return number


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ValueError(t("okr.bind.sql.bad_url")) from None


def _backend(url: str) -> str:
    try:
        return "sqlite" if make_url(url).drivername in _SQLITE else "postgresql"
    except ArgumentError:
        return "?"


def _expand(url: str, env: Mapping[str, str], secrets: list[str]) -> URL:
    """The parsed URL with ``${VAR}`` in each part replaced from the environment; each value used is remembered."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise BindingError(
                t("okr.bind.sql.env_missing", name=name), where="binding.url", hint=t("okr.bind.hint.env", name=name)
            )
        if env[name]:
            secrets.append(env[name])
        return env[name]

    def expand(part: str | None) -> str | None:
        return None if part is None else _ENV_REF.sub(replace, part)

    parsed = make_url(url)  # parsed first, so a password with ':' or '@' in it needs no quoting
    return parsed.set(
        username=expand(parsed.username),
        password=expand(None if parsed.password is None else str(parsed.password)),
        host=expand(parsed.host),
        database=expand(parsed.database),
        query={k: _ENV_REF.sub(replace, v) if isinstance(v, str) else v for k, v in parsed.query.items()},
    )


def _hide(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


def _sqlite_path(url: URL, root: Path) -> Path:
    path = Path(str(url.database)).expanduser()
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise BindingError(t("okr.bind.sql.no_such_file", path=str(path)), where="binding.url")
    return path


def _sqlite_rows(path: Path, query: str, timeout_s: float) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``query`` on a read-only connection (``mode=ro``, reads-only authorizer, a deadline)."""
    deadline = time.monotonic() + timeout_s

    def authorize(action: int, *_args: Any) -> int:
        return sqlite3.SQLITE_OK if action in _SQLITE_ALLOWED else sqlite3.SQLITE_DENY

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0  # non-zero interrupts the statement

    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout_s)
    except sqlite3.Error as exc:
        raise BindingError(t("okr.bind.sql.connect", error=str(exc)), where="binding.url") from None
    try:
        conn.set_authorizer(authorize)
        conn.set_progress_handler(past_deadline, 1000)
        cursor = conn.execute(query)
        columns = [str(d[0]) for d in cursor.description or ()]
        rows = cursor.fetchmany(2)
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not authorized" in text or "readonly" in text:
            raise BindingError(t("okr.bind.sql.writes", error=text), hint=t("okr.bind.hint.read_only")) from None
        if "interrupted" in text:
            raise BindingError(t("okr.bind.sql.timeout", seconds=timeout_s)) from None
        if "one statement" in text:
            raise BindingError(t("okr.bind.sql.one_statement"), where="binding.query") from None
        raise BindingError(t("okr.bind.sql.failed", error=text), where="binding.query") from None
    except sqlite3.Warning:  # "You can only execute one statement at a time."
        raise BindingError(t("okr.bind.sql.one_statement"), where="binding.query") from None
    finally:
        conn.close()
    return columns, rows


def _postgres_rows(url: URL, query: str, timeout_s: float) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``query`` in a READ ONLY transaction of a session that defaults to read-only, with a statement timeout."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    timeout_ms = max(1, round(timeout_s * 1000))
    extra = {str(k): str(v) for k, v in url.query.items()}
    # Ours come last, so a URL's own ?options= cannot turn read-only off (the last -c of a setting wins).
    options = f"{extra.pop('options', '')} -c default_transaction_read_only=on -c statement_timeout={timeout_ms}"
    params = {"host": url.host, "port": url.port, "user": url.username, "password": url.password,
              "dbname": url.database, **extra}  # fmt: skip
    conninfo = make_conninfo("", **{k: v for k, v in params.items() if v is not None})
    try:
        conn = psycopg.connect(
            conninfo, options=options.strip(), connect_timeout=max(1, math.ceil(timeout_s)), autocommit=False
        )
    except psycopg.Error as exc:
        raise BindingError(t("okr.bind.sql.connect", error=_first_line(exc)), where="binding.url") from None
    try:
        conn.read_only = True
        with conn.cursor() as cursor:
            # prepare=True: the extended protocol, which runs one statement only (no "…; COMMIT; DELETE …").
            cursor.execute(query, prepare=True)
            columns = [d.name for d in cursor.description or ()]
            rows = [tuple(r) for r in cursor.fetchmany(2)] if cursor.description else []
    except psycopg.Error as exc:
        state = getattr(exc, "sqlstate", None)
        if state == _READ_WRITE_SQLSTATE:
            raise BindingError(
                t("okr.bind.sql.writes", error=_first_line(exc)), hint=t("okr.bind.hint.read_only")
            ) from None
        if state == _CANCELED_SQLSTATE:
            raise BindingError(t("okr.bind.sql.timeout", seconds=timeout_s)) from None
        if "multiple commands" in str(exc):
            raise BindingError(t("okr.bind.sql.one_statement"), where="binding.query") from None
        raise BindingError(t("okr.bind.sql.failed", error=_first_line(exc)), where="binding.query") from None
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        conn.close()
    return columns, rows


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
