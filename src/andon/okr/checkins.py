"""Check-ins in bulk: a CSV upload (every bad line named ``file:line``) and batches from the HTTP API.

A batch is checked whole before anything is written, then stored in one transaction: all rows or none.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from andon.config.problems import InvalidConfig, Problem
from andon.errors import AndonError, ConfigError, PeriodClosedError
from andon.messages import t
from andon.okr.objectives import new_checkin
from andon.store import Store
from andon.store.okr import CheckIn

REQUIRED = ("key_result", "value")
OPTIONAL = ("confidence", "comment", "author", "at", "step")
MAX_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class CheckInInput:
    """One check-in as given (CSV row or API item) before it is checked."""

    key_result: str
    value: Any
    confidence: Any = None
    comment: str = ""
    author: str | None = None
    at: Any = None
    step: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch stored: the check-ins written, and how many were there already (same source and step)."""

    written: list[CheckIn]
    skipped: int


def read_csv(path: Path) -> list[tuple[int, CheckInInput]]:
    """The rows of a check-in CSV with their line numbers; a missing column or unreadable file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except FileNotFoundError:
        raise ConfigError(t("okr.csv.missing", path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(t("okr.apply.unreadable", error=exc), where=str(path)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(
            t("okr.csv.columns", missing=", ".join(missing), found=", ".join(header) or "—"),
            where=f"{path}:1",
            hint=t("okr.csv.columns_hint", required=", ".join(REQUIRED), optional=", ".join(OPTIONAL)),
        )
    reader.fieldnames = header
    rows: list[tuple[int, CheckInInput]] = []
    for record in reader:
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            raise ConfigError(t("okr.csv.too_many", limit=MAX_ROWS), where=f"{path}:{line}")
        cells = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if not any(cells.values()):
            continue  # a blank line
        rows.append(
            (
                line,
                CheckInInput(
                    key_result=cells.get("key_result", ""),
                    value=cells.get("value", ""),
                    confidence=cells.get("confidence") or None,
                    comment=cells.get("comment", ""),
                    author=cells.get("author") or None,
                    at=cells.get("at") or None,
                    step=cells.get("step") or None,
                ),
            )
        )
    return rows


def check_batch(
    store: Store, items: Sequence[tuple[str, CheckInInput]], *, author: str, source: str
) -> tuple[list[CheckIn], list[Problem]]:
    """Checked check-ins for ``(where, item)`` pairs, and a problem for each bad one (none are written)."""
    checked: list[CheckIn] = []
    problems: list[Problem] = []
    periods: dict[str, Any] = {}
    for where, item in items:
        try:
            value = _number(item.value)
            confidence = _confidence(item.confidence)
            at = _time(item.at)
            chk = new_checkin(
                store, item.key_result, value, confidence=confidence, comment=item.comment,
                author=item.author or author, source=source, step=item.step, at=at,
            )  # fmt: skip
            _check_open(store, chk.key_result, periods)
        except AndonError as exc:
            field = exc.where if exc.where in ("value", "confidence", "at", "author") else "key_result"
            if isinstance(exc, PeriodClosedError):
                field = "period"
            problems.append(Problem(where=where, field=field, message=exc.message, hint=exc.hint))
            continue
        checked.append(chk)
    return checked, problems


def upload_csv(store: Store, path: Path, *, author: str) -> BatchResult:
    """Check every row of a CSV, then store them all in one transaction (or none, naming each bad line)."""
    rows = read_csv(path)
    if not rows:
        raise ConfigError(t("okr.csv.empty"), where=str(path), hint=t("okr.csv.columns_hint",
                          required=", ".join(REQUIRED), optional=", ".join(OPTIONAL)))  # fmt: skip
    checked, problems = check_batch(store, [(f"{path}:{line}", row) for line, row in rows], author=author, source="csv")
    if problems:
        raise InvalidConfig(problems, path=str(path), default_hint=t("okr.csv.fix_hint"))
    return store_batch(store, checked)


def store_batch(store: Store, checked: Sequence[CheckIn]) -> BatchResult:
    """Write checked check-ins in one transaction."""
    results = store.add_checkins(checked)
    written = [r for r in results if r is not None]
    return BatchResult(written=written, skipped=len(results) - len(written))


def _check_open(store: Store, kr_id: str, periods: dict[str, Any]) -> None:
    # Checked up front so one closed key result refuses the batch before anything is written.
    kr = store.key_result(kr_id)
    period_id = store.objective(kr.objective).period
    if period_id not in periods:
        periods[period_id] = store.period(period_id)
    period = periods[period_id]
    if period is not None and period.closed_at is not None:
        raise PeriodClosedError(
            t("okr.period.closed", period=period.id, since=period.closed_at.isoformat(timespec="minutes")),
            hint=t("okr.period.closed_hint"),
        )


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(t("okr.checkin.bad_value", value=value), where="value")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "")  # 1,234 as a spreadsheet writes it
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(t("okr.checkin.bad_value", value=value), where="value") from None
    if not math.isfinite(number):
        raise ConfigError(t("okr.checkin.bad_value", value=value), where="value")
    return number


def _confidence(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(t("okr.checkin.bad_confidence", value=value), where="confidence") from None
    if not number.is_integer():
        raise ConfigError(t("okr.checkin.bad_confidence", value=value), where="confidence")
    return int(number)


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ConfigError(
                t("okr.checkin.bad_time", at=value), where="at", hint=t("okr.checkin.time_hint")
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
