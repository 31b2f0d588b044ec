"""Shared fixtures: a fresh store, or the URL of a fresh empty database, on SQLite and PostgreSQL.

PostgreSQL comes from ANDON_TEST_POSTGRES_URL (default: local trust server). When it is unreachable its
tests are skipped, loudly, unless ANDON_REQUIRE_POSTGRES=1 (CI), which makes them fail instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from andon.errors import StoreError
from andon.messages import set_language, t
from andon.store import Store
from andon.store.db import DATABASE_URL_ENV, mask_url, parse_url

# CI must not fail on a lucky draw: derandomized (the same examples every run), no example database
# carried between runs, no deadline (a loaded 2-core machine is not a bug). Locally, draws stay random.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

POSTGRES_URL_ENV = "ANDON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REQUIRE_POSTGRES_ENV = "ANDON_REQUIRE_POSTGRES"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

_postgres_skipped = pytest.StashKey[str]()


@pytest.fixture(autouse=True)
def _language_from_the_environment() -> Iterator[None]:
    """No test inherits a language another one chose with ``set_language`` (an in-process ``--lang``, say)."""
    set_language(None)
    yield
    set_language(None)


@pytest.fixture(autouse=True)
def _no_ambient_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their database; a developer's own ANDON_DATABASE_URL must not leak in."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)


@pytest.fixture(scope="session")
def postgres_server(pytestconfig: pytest.Config) -> Iterator[Engine]:
    """An autocommit engine on the PostgreSQL server's maintenance database (skip or fail if unreachable)."""
    raw = os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL
    masked = mask_url(raw)
    reason = _unreachable_reason(raw)
    if reason is not None:
        # Decided outside the except block so the message is not buried under a chained traceback.
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(
                f"{REQUIRE_POSTGRES_ENV}=1 but PostgreSQL is not reachable at {masked}: {reason}", pytrace=False
            )
        pytestconfig.stash[_postgres_skipped] = masked
        pytest.skip(t("tests.postgres_skipped", url=masked))
    engine = create_engine(parse_url(raw), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _unreachable_reason(url: str) -> str | None:
    """None if the server at ``url`` answers, else the first line of why not."""
    try:
        engine = create_engine(parse_url(url), connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except (SQLAlchemyError, StoreError) as exc:
        return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


def create_postgres_database(server: Engine) -> str:
    """Create an empty database ``andon_test_<random>`` on ``server`` and return its URL."""
    name = f"andon_test_{secrets.token_hex(6)}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return server.url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server: Engine, url: str) -> None:
    """Drop the database of ``url``, disconnecting anyone still on it (a killed writer, say)."""
    name = parse_url(url).database
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database (nothing migrated yet) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'andon.db'}"
        return
    server: Engine = request.getfixturevalue("postgres_server")
    url = create_postgres_database(server)
    try:
        yield url
    finally:
        drop_postgres_database(server, url)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """An open, migrated store on each backend."""
    with Store.open(database_url) as opened:
        yield opened


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly, once, that PostgreSQL tests did not run."""
    masked = terminalreporter.config.stash.get(_postgres_skipped, None)
    if masked is not None:
        terminalreporter.write_line(t("tests.postgres_skipped", url=masked), yellow=True, bold=True)
