"""OKR periods: quarters (``2026Q4``) and years (``2026``), how far one has run, and its steps for the board."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from andon.errors import ConfigError
from andon.messages import t
from andon.store.okr import Period

_PERIOD = re.compile(r"^\s*(\d{4})(?:\s*-?\s*[Qq]([1-4]))?\s*$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_period(text: str) -> Period:
    """The open period named ``text``: ``2026Q4`` (also ``2026-q4``) is a quarter, ``2026`` a whole year."""
    match = _PERIOD.match(str(text))
    if match is None:
        raise ConfigError(t("okr.period.bad", text=text), hint=t("okr.period.bad_hint"))
    year = int(match.group(1))
    if match.group(2) is None:
        return Period(id=str(year), starts=date(year, 1, 1), ends=date(year, 12, 31))
    quarter = int(match.group(2))
    starts = date(year, 3 * quarter - 2, 1)
    return Period(id=f"{year}Q{quarter}", starts=starts, ends=_month_end(year, 3 * quarter))


def is_year(period: Period) -> bool:
    """Whether the period spans more than a quarter (its board shows quarters, not months)."""
    return (period.ends - period.starts).days > 100


def period_of(day: date, *, yearly: bool = False) -> Period:
    """The quarter (or year) that contains ``day``."""
    return parse_period(str(day.year) if yearly else f"{day.year}Q{(day.month - 1) // 3 + 1}")


def bounds(period: Period) -> tuple[datetime, datetime]:
    """The period as a half-open UTC interval: [first day 00:00, the day after the last 00:00)."""
    start = datetime.combine(period.starts, time(), UTC)
    return start, datetime.combine(period.ends + timedelta(days=1), time(), UTC)


def elapsed_fraction(period: Period, now: datetime) -> float:
    """How much of the period has passed at ``now``: 0 before it starts, 1 from its end on."""
    start, end = bounds(period)
    fraction = (now - start) / (end - start)
    return min(1.0, max(0.0, fraction))


def steps(period: Period) -> list[tuple[str, datetime, datetime]]:
    """The board's columns of a period: (label, start, end) per quarter of a year, or per month of a quarter."""
    out: list[tuple[str, datetime, datetime]] = []
    start, end = bounds(period)
    months = 3 if is_year(period) else 1
    cursor = period.starts
    while datetime.combine(cursor, time(), UTC) < end:
        year, month = cursor.year, cursor.month
        last = _month_end(year + (month + months - 2) // 12, (month + months - 2) % 12 + 1)
        label = f"Q{(month - 1) // 3 + 1}" if months == 3 else _MONTHS[month - 1]
        step_start = max(start, datetime.combine(cursor, time(), UTC))
        step_end = min(end, datetime.combine(last + timedelta(days=1), time(), UTC))
        out.append((label, step_start, step_end))
        cursor = last + timedelta(days=1)
    return out


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)
