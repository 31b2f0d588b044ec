"""PostgreSQL time partitions of traces and spans: weekly ranges made ahead, whole weeks dropped for retention.

A week (Monday 00:00 UTC) per partition: with the default 30-day retention a prune leaves at most a week of
rows to delete one by one, and 90 days of traces are 13 partitions (3,650 days, the longest retention, ~520).
A ``<table>_default`` partition catches a row no week was made for, so a write never fails; the next
:func:`ensure_partitions` moves such rows into their week. SQLite keeps plain tables (it has no partitions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

WEEK = timedelta(days=7)
AHEAD_WEEKS = 4  # weeks made past the current one: a month of writes needs no maintenance
# Partitioned table -> its partition key (the row's time).
PARTITIONED: dict[str, str] = {"traces": "created_at", "spans": "started_at"}
_NAME = re.compile(r"^(traces|spans)_p(\d{8})$")


@dataclass(frozen=True, slots=True)
class Partition:
    """One week of a partitioned table: rows with ``start <= key < end``."""

    table: str
    name: str
    start: datetime
    end: datetime


def week_start(at: datetime) -> datetime:
    """The Monday 00:00 UTC on or before ``at`` (an aware datetime)."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def partition_name(table: str, start: datetime) -> str:
    """``traces_p20261207``: the table and the first day of the week."""
    return f"{table}_p{start:%Y%m%d}"


def default_name(table: str) -> str:
    """The catch-all partition of ``table``."""
    return f"{table}_default"


def is_partition_name(name: str | None) -> bool:
    """Whether ``name`` is one of andon's partitions (or their indexes), which the models do not list."""
    if name is None:
        return False
    return any(name.startswith(partition) for partition in ("traces_p2", "spans_p2", "traces_default", "spans_default"))


def is_partitioned(connection: Connection, table: str) -> bool:
    """Whether ``table`` is a partitioned table here (PostgreSQL after migration 0023)."""
    if connection.dialect.name != "postgresql":
        return False
    found = connection.execute(
        text("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:t)"), {"t": table}
    ).scalar_one_or_none()
    return found == "p"


def partitions(connection: Connection, table: str) -> list[Partition]:
    """The weekly partitions of ``table``, oldest first (the default partition is not one)."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table},
    ).scalars()
    out = []
    for name in names:
        matched = _NAME.match(name)
        if matched and matched.group(1) == table:
            start = datetime.strptime(matched.group(2), "%Y%m%d").replace(tzinfo=UTC)
            out.append(Partition(table, name, start, start + WEEK))
    return sorted(out, key=lambda p: p.start)


def weeks_between(first: datetime, last: datetime) -> list[datetime]:
    """The starts of every week from the one holding ``first`` to the one holding ``last``."""
    start, out = week_start(first), []
    while start <= last:
        out.append(start)
        start += WEEK
    return out


def ensure_partitions(connection: Connection, now: datetime, ahead: int = AHEAD_WEEKS) -> list[str]:
    """Make the weeks from ``now``'s through ``ahead`` more for every partitioned table; the names made."""
    made: list[str] = []
    for table in PARTITIONED:
        if not is_partitioned(connection, table):
            continue
        have = {p.start for p in partitions(connection, table)}
        for start in weeks_between(now, now + ahead * WEEK):
            if start not in have:
                made.append(add_partition(connection, table, start))
    return made


def add_partition(connection: Connection, table: str, start: datetime) -> str:
    """Attach the week at ``start`` to ``table``, moving into it any rows of that week in the default partition.

    Made apart and then attached: ATTACH locks the parent lightly (writers go on), where CREATE ... PARTITION OF
    would stop them; the default partition is checked for rows of the week either way.
    """
    name, key, default = partition_name(table, start), PARTITIONED[table], default_name(table)
    bounds = {"start": start, "end": start + WEEK}
    connection.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    if connection.execute(text("SELECT to_regclass(:d)"), {"d": default}).scalar() is not None:
        connection.execute(
            text(
                f"WITH moved AS (DELETE FROM {default} WHERE {key} >= :start AND {key} < :end RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved"
            ),
            bounds,
        )
    # Literal bounds: ATTACH takes no parameters. ISO text with an offset, read as timestamptz.
    connection.execute(
        text(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES "
            f"FROM ('{bounds['start'].isoformat()}') TO ('{bounds['end'].isoformat()}')"
        )
    )
    return name


def expired(connection: Connection, table: str, cutoff: datetime) -> list[Partition]:
    """The weeks of ``table`` wholly older than ``cutoff`` (every row's key before it)."""
    return [p for p in partitions(connection, table) if p.end <= cutoff]


def drop_partition(connection: Connection, partition: Partition) -> int:
    """Detach and drop one week; the number of rows it held."""
    rows = int(connection.execute(text(f"SELECT count(*) FROM {partition.name}")).scalar_one())
    connection.execute(text(f"ALTER TABLE {partition.table} DETACH PARTITION {partition.name}"))
    connection.execute(text(f"DROP TABLE {partition.name}"))
    return rows
