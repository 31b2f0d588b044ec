"""The store on real SQLite and PostgreSQL: round trips, lookups, migrations, concurrency, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from andon.errors import NotFoundError, StoreError
from andon.store import Store
from andon.store.db import VERSION_TABLE, alembic_config, resolve_database_url
from andon.store.models import Base, OutputRow, VersionNameRow, VersionRow
from andon.store.records import OutputRecord, new_id
from andon.store.webtraces import outside_the_models

WRITER = Path(__file__).with_name("store_writer.py")
SEOUL = timezone(timedelta(hours=9))
ID_A = "ab12cd" + "1" * 58
ID_B = "ab12cd" + "2" * 58
ID_C = "ff00ee" + "3" * 58


def _output(**changes: Any) -> OutputRecord:
    started = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=SEOUL)
    values: dict[str, Any] = {
        "id": new_id("out"),
        "feature": "menu-photo-review",
        "version_id": ID_A,
        "provider": "local",
        "model": "qwen-0.5b",
        "params": {"temperature": 0.0, "max_tokens": 64},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "메뉴 사진을 검토하세요"}]}],
        "status": "ok",
        "started_at": started,
        "finished_at": started + timedelta(milliseconds=812),
    }
    values.update(changes)
    return OutputRecord(**values)


def _name_rows(store: Store, feature: str) -> int:
    with store.engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(VersionNameRow).where(VersionNameRow.feature == feature))
    return int(count or 0)


# versions


def test_version_round_trip_by_name_id_and_prefix(store: Store) -> None:
    content = {"system": "너는 리뷰어다", "prompt": "{{ photo }}", "params": {"temperature": 0.2}}
    saved = store.register_version("menu", "baseline", ID_A, content)

    for ref in ("baseline", ID_A, ID_A[:6], ID_A[:20]):
        got = store.get_version("menu", ref)
        assert (got.id, got.feature, got.name, got.content) == (ID_A, "menu", "baseline", content)
        assert got.created_at == saved.created_at
        assert got.created_at.utcoffset() == timedelta(0)


def test_registering_twice_stores_once(store: Store) -> None:
    first = store.register_version("menu", "baseline", ID_A, {"p": 1})
    again = store.register_version("menu", "baseline", ID_A, {"p": 1})

    assert again.created_at == first.created_at
    assert [v.id for v in store.list_versions("menu")] == [ID_A]
    assert _name_rows(store, "menu") == 1


def test_name_history_latest_row_wins(store: Store) -> None:
    store.register_version("menu", "v1", ID_A, {"p": "a"})
    store.register_version("menu", "v1", ID_B, {"p": "b"})  # the user edited v1 in andon.yaml

    assert store.get_version("menu", "v1").id == ID_B
    assert store.get_version("menu", ID_A[:8]).name == "v1"  # old content keeps the name it had
    assert [(v.id, v.name) for v in store.list_versions("menu")] == [(ID_A, "v1"), (ID_B, "v1")]

    store.register_version("menu", "v1", ID_A, {"p": "a"})  # and reverted it
    assert store.get_version("menu", "v1").id == ID_A
    assert _name_rows(store, "menu") == 3
    assert [v.id for v in store.list_versions("menu")] == [ID_A, ID_B]  # order of first appearance


def test_list_versions_names_each_by_its_latest_name(store: Store) -> None:
    store.register_version("menu", "draft", ID_A, {"p": "a"})
    store.register_version("menu", "baseline", ID_A, {"p": "a"})
    store.register_version("menu", "candidate", ID_C, {"p": "c"})

    assert [(v.id, v.name) for v in store.list_versions("menu")] == [(ID_A, "baseline"), (ID_C, "candidate")]
    assert store.list_versions("other") == []


def test_identical_content_in_two_features(store: Store) -> None:
    store.register_version("menu", "v1", ID_A, {"p": "same"})
    store.register_version("review", "first", ID_A, {"p": "same"})

    got = store.get_version("review", ID_A[:10])
    assert (got.feature, got.name) == ("review", "first")
    assert [v.name for v in store.list_versions("menu")] == ["v1"]
    with pytest.raises(NotFoundError):
        store.get_version("other", ID_A)


def test_prefix_must_be_unique_and_long_enough(store: Store) -> None:
    store.register_version("menu", "a", ID_A, {"p": "a"})
    store.register_version("menu", "b", ID_B, {"p": "b"})

    with pytest.raises(NotFoundError, match="ambiguous") as ambiguous:
        store.get_version("menu", ID_A[:6])
    assert ID_A[:16] in str(ambiguous.value) and ID_B[:16] in str(ambiguous.value)
    assert store.get_version("menu", ID_B[:7]).id == ID_B
    with pytest.raises(NotFoundError, match="at least 6"):
        store.get_version("menu", ID_A[:5])
    with pytest.raises(NotFoundError):
        store.get_version("menu", ID_A[:6].upper())  # ids are matched case-sensitively on both backends


def test_unknown_version_lists_what_exists(store: Store) -> None:
    store.register_version("menu", "baseline", ID_A, {"p": "a"})
    store.register_version("menu", "candidate", ID_C, {"p": "c"})

    with pytest.raises(NotFoundError) as unknown:
        store.get_version("menu", "nope")
    message = str(unknown.value)
    assert "feature 'menu'" in message and "'nope'" in message
    assert f"baseline ({ID_A[:12]})" in message and f"candidate ({ID_C[:12]})" in message

    with pytest.raises(NotFoundError, match=r"features with versions: menu"):
        store.get_version("menus", "baseline")


def test_prefix_wildcards_are_literal(store: Store) -> None:
    store.register_version("menu", "a", ID_A, {"p": "a"})
    with pytest.raises(NotFoundError):
        store.get_version("menu", "ab12c_")
    with pytest.raises(NotFoundError):
        store.get_version("menu", "ab%%%%")


# outputs


def test_output_round_trip_keeps_every_field(store: Store) -> None:
    record = _output(
        output_text='{"ok": true}',
        output_json={"ok": True, "issues": ["흐림", None, 1.5]},
        error=None,
        input_tokens=120,
        output_tokens=8,
        cost=0.000123,
        currency="KRW",
        latency_ms=812.5,
        cached=True,
        raw={"choices": [{"finish_reason": "stop"}], "usage": {"total_tokens": 128}},
        steps=[{"name": "main", "status": "ok"}, {"name": "rule", "status": "finished"}],
        context={"case": "c-17", "repeat": 2},
    )
    store.save_output(record)

    got = store.get_output(record.id)
    assert got == record  # dataclass equality: aware datetimes compare by instant
    assert got.started_at.utcoffset() == timedelta(0)
    assert got.started_at == datetime(2025, 3, 1, 0, 30, 15, 123456, tzinfo=UTC)


def test_output_defaults_and_null_json_round_trip(store: Store) -> None:
    record = _output(status="error", error="timeout after 60 s")
    store.save_output(record)
    got = store.get_output(record.id)
    assert (got.output_json, got.raw, got.cost, got.steps, got.context) == (None, None, None, [], {})
    assert got.error == "timeout after 60 s"


def test_nul_in_model_text_is_replaced_not_fatal(store: Store) -> None:
    record = _output(output_text="a\x00b", error="bad\x00byte", raw={"text": "a\x00b"})
    store.save_output(record)
    got = store.get_output(record.id)
    assert (got.output_text, got.error) == ("a\ufffdb", "bad\ufffdbyte")
    assert got.raw == {"text": "a\x00b"}  # the JSON copy keeps the exact reply


def test_output_prefix_lookup(store: Store) -> None:
    first, second = _output(id="out_aaaaaa1111"), _output(id="out_aaaaaa2222")
    store.save_outputs([first, second])

    assert store.get_output("out_aaaaaa1").id == first.id
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.get_output("out_aaaaaa")
    with pytest.raises(NotFoundError, match="no output"):
        store.get_output("out_b")


def test_save_outputs_is_all_or_nothing(store: Store) -> None:
    kept = _output()
    store.save_output(kept)
    batch = [_output(), _output(), _output(id=kept.id), _output()]  # third collides

    with pytest.raises(IntegrityError):
        store.save_outputs(batch)
    for record in (batch[0], batch[1], batch[3]):
        with pytest.raises(NotFoundError):
            store.get_output(record.id)
    assert store.get_output(kept.id) == kept


def test_naive_datetimes_are_refused(store: Store) -> None:
    record = _output(started_at=datetime(2025, 1, 1, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        store.save_outputs([_output(), record])
    with pytest.raises(NotFoundError):
        store.get_output(record.id)


# response cache


def test_cache_put_get_and_replace(store: Store) -> None:
    key = "9" * 64
    assert store.cache_get(key) is None
    store.cache_put(key, {"text": "첫 답", "tokens": 3})
    assert store.cache_get(key) == {"text": "첫 답", "tokens": 3}
    store.cache_put(key, {"text": "second"})
    assert store.cache_get(key) == {"text": "second"}


# Any JSON object survives, NUL characters and 1e16-style floats included (PostgreSQL json, not jsonb).
_json_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _json_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_json_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text("0123456789abcdef", min_size=64, max_size=64), value=st.dictionaries(_json_text, _json_values))
def test_cache_round_trips_any_json_object(store: Store, key: str, value: dict[str, Any]) -> None:
    store.cache_put(key, value)
    assert store.cache_get(key) == value


# opening and migrating


def head_revision(conn: Any) -> str | None:
    """The newest migration's revision id, read from the migration scripts themselves."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(conn)).get_current_head()


def test_open_twice_migrates_once_and_keeps_data(database_url: str) -> None:
    with Store.open(database_url) as first:
        first.register_version("menu", "v1", ID_A, {"p": 1})
    with Store.open(database_url) as second:
        assert second.get_version("menu", "v1").id == ID_A
        with second.engine.connect() as conn:
            applied = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
            assert applied == [head_revision(conn)]


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": lambda name, kind, _parent: (
                    (name, kind) != (VERSION_TABLE, "table") and not outside_the_models(name)
                )  # the traces' text index: FTS5 or a GIN expression
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    with Store.open(database_url) as store, store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
        assert set(inspect(conn).get_table_names()) <= {VERSION_TABLE}
    with Store.open(database_url) as store:
        store.cache_put("k" * 64, {"back": True})
        assert store.cache_get("k" * 64) == {"back": True}


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    with Store.open(workspace=tmp_path) as store, store.engine.connect() as conn:
        assert store.dialect == "sqlite"
        assert (tmp_path / ".andon" / "andon.db").is_file()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            insert(VersionNameRow).values(feature="f", name="n", version_id="0" * 64, created_at=datetime.now(UTC))
        )


def test_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_database_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/.andon/andon.db"
    monkeypatch.setenv("ANDON_DATABASE_URL", "postgresql+psycopg://u@db.example:5432/andon")
    assert resolve_database_url(tmp_path) == "postgresql+psycopg://u@db.example:5432/andon"


def test_unreachable_server_names_masked_url() -> None:
    with pytest.raises(StoreError) as refused:
        Store.open("postgresql+psycopg://andon:s3cret@127.0.0.1:9/andon")
    message = str(refused.value)
    assert "postgresql+psycopg://andon:***@127.0.0.1:9/andon" in message
    assert "s3cret" not in message
    assert refused.value.hint and "server is running" in refused.value.hint


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://u:pw@localhost/andon", "SQLite or PostgreSQL only"),
    ],
)
def test_bad_urls_are_store_errors(url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected) as bad:
        Store.open(url)
    assert "pw@" not in str(bad.value)


def test_bad_url_from_env_says_where_it_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_DATABASE_URL", "mysql://u@localhost/andon")
    with pytest.raises(StoreError) as bad:
        Store.open(workspace=tmp_path)
    assert bad.value.where == "ANDON_DATABASE_URL"


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "andon.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a database"):
        Store.open(f"sqlite:///{junk}")


# several processes


def _start_writer(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.timeout(120)
def test_fresh_database_opened_by_three_processes_at_once(database_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    racers = [_start_writer("open", database_url, str(go)) for _ in range(3)]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready"
        go.touch()
        outcomes = [racer.communicate(timeout=90) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
    for racer, (out, err) in zip(racers, outcomes, strict=True):
        assert racer.returncode == 0, err
        assert out.strip() == "opened"

    with Store.open(database_url) as store, store.engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [head_revision(conn)]
        assert conn.scalar(select(func.count()).select_from(VersionRow)) == 1
        assert [v.name for v in store.list_versions("race")] == ["v1"]


@pytest.mark.timeout(120)
def test_killed_writer_leaves_only_whole_batches(database_url: str) -> None:
    batch_size = 500
    writer = _start_writer("write", database_url, str(batch_size), "1000")
    try:
        assert writer.stdout is not None
        seen: dict[str, float] = {}
        for line in writer.stdout:
            seen[line.strip()] = time.monotonic()
            if "writing 3" in seen:
                break
        else:
            pytest.fail(f"writer ended early: {writer.wait()} {writer.stderr.read() if writer.stderr else ''}")
        # Batches 0-2 are committed; aim the kill at the middle of batch 3 by the time batch 2 took.
        time.sleep((seen["committed 2"] - seen["writing 2"]) / 2)
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        writer.kill()
        writer.communicate()

    with Store.open(database_url) as store, store.engine.connect() as conn:
        batches = Counter(ctx["batch"] for ctx in conn.execute(select(OutputRow.context)).scalars())
        if store.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert set(batches) >= {0, 1, 2}
    assert sorted(batches) == list(range(len(batches)))  # committed in order, none missing
    assert all(count == batch_size for count in batches.values()), batches


def test_sqlite_file_is_readable_by_plain_sqlite3(tmp_path: Path) -> None:
    with Store.open(workspace=tmp_path) as store:
        store.register_version("menu", "v1", ID_A, {"p": "한글"})
    conn = sqlite3.connect(tmp_path / ".andon" / "andon.db")
    try:
        (content,) = conn.execute("SELECT content FROM versions").fetchone()
    finally:
        conn.close()
    assert "한글" in content  # stored readable, not \\u-escaped
