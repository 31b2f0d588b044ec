"""Finding a row by its id or a unique prefix of it: one rule for every kind of stored thing with an id."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.errors import NotFoundError
from andon.messages import t

MIN_PREFIX = 6  # shortest id prefix accepted in place of a full id
SHOWN = 10  # how many matching ids an ambiguity error lists

Row = TypeVar("Row")


def get_by_ref(session: Session, table: type[Row], ref: str, what: str, hint: str | Callable[[], str]) -> Row:
    """The ``table`` row whose id is ``ref``, or the only one whose id starts with ``ref`` (≥ MIN_PREFIX chars).

    ``what`` names the kind of row in messages; ``hint`` (or a function making it, called only on a miss)
    says where to find ids. An ambiguous prefix and an unknown ref are both :class:`NotFoundError`.
    """
    row = session.get(table, ref)
    if row is not None:
        return row
    if len(ref) >= MIN_PREFIX:
        column: Any = table.id  # type: ignore[attr-defined]  # every table looked up by ref has an ``id``
        found = session.scalars(
            select(column).where(column.startswith(ref, autoescape=True)).order_by(column).limit(SHOWN + 1)
        ).all()
        matches = prefix_matches(found, ref)
        if len(matches) > 1:
            shown = ", ".join(matches[:SHOWN]) + (", …" if len(matches) > SHOWN else "")
            raise NotFoundError(t("house.ref.ambiguous", what=what, ref=ref, ids=shown), hint=t("polish.more_chars"))
        if matches:
            return session.get_one(table, matches[0])
    raise NotFoundError(t("house.ref.missing", what=what, ref=ref), hint=hint() if callable(hint) else hint)


def prefix_matches(ids: Iterable[str], ref: str) -> list[str]:
    """The ids that start with ``ref``, sorted; none when ``ref`` is shorter than MIN_PREFIX.

    Exact, case-sensitive ``startswith``: SQLite's LIKE ignores case, PostgreSQL's does not.
    """
    if len(ref) < MIN_PREFIX:
        return []
    return sorted(i for i in ids if i.startswith(ref))
