"""Work items from a CSV file (one a row, a header naming the columns); every bad row is named by its line.

Columns (header names are case-insensitive): ``id`` and ``title`` are required; ``status``, ``done``
(yes/no, true/false, 1/0; when empty, a status such as Done or Closed counts as done), ``points``,
``labels`` (separated by ``;`` or ``,``), ``url``, ``assignee``, ``updated_at`` (ISO 8601) and ``kind``
are optional. Nothing is imported from a file with a bad row; an unchanged file is not read twice.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from andon.config.problems import InvalidConfig, Problem
from andon.errors import ConfigError
from andon.messages import t
from andon.okr.work.base import Cursor, ImportBatch, ImporterSettings, WorkImporter, parse_time
from andon.store.okr import WorkItem

COLUMNS = ("id", "title", "status", "done", "points", "labels", "url", "assignee", "updated_at", "kind")
ALIASES = {"external_id": "id", "key": "id", "summary": "title", "updated": "updated_at", "story_points": "points"}
REQUIRED = ("id", "title")
DONE_STATUSES = frozenset({"done", "closed", "resolved", "complete", "completed", "merged", "finished"})
_TRUE = frozenset({"yes", "y", "true", "t", "1", "done"})
_FALSE = frozenset({"no", "n", "false", "f", "0", ""})
_LABEL_SPLIT = re.compile(r"[;,]")


class CsvSettings(ImporterSettings):
    """The file to read and its delimiter."""

    type: Literal["csv"] = "csv"
    path: Path = Field(description="the CSV file")
    delimiter: str = Field(default=",", min_length=1, max_length=1)


class CsvImporter(WorkImporter):
    """Work items from a CSV file."""

    type_name: ClassVar[str] = "csv"
    source: ClassVar[str] = "csv"
    Settings: ClassVar[type[ImporterSettings]] = CsvSettings
    settings: CsvSettings

    @property
    def cursor_name(self) -> str:
        """One cursor per file."""
        return f"csv:{self.settings.path.resolve()}"

    async def fetch(self, cursor: Cursor | None) -> ImportBatch:
        """Every row of the file; nothing when the file is byte-for-byte what was imported last time."""
        path = self.settings.path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(t("okr_work.csv.unreadable", error=exc.strerror or str(exc)), where=str(path)) from None
        digest = hashlib.sha256(data).hexdigest()
        if cursor and cursor.get("sha256") == digest:
            return ImportBatch([], cursor, unchanged=True)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                t("okr_work.csv.not_utf8", at=exc.start), where=str(path), hint=t("okr_work.csv.not_utf8_hint")
            ) from None
        return ImportBatch(parse_rows(text, path, self.settings.delimiter), {"sha256": digest})


def parse_rows(text: str, path: Path, delimiter: str = ",") -> list[WorkItem]:
    """The rows of a CSV text as work items; every problem (file:line, column, hint) raised together."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ConfigError(t("okr_work.csv.syntax", error=str(exc)), where=f"{path}:1") from None
    if not header or not any(h.strip() for h in header):
        raise ConfigError(t("okr_work.csv.empty"), where=str(path), hint=t("okr_work.csv.header_hint"))
    columns = _columns(header, path, problems)
    items: list[WorkItem] = []
    first_line: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(f"{path}:{line}", "", t("okr_work.csv.syntax", error=str(exc))))
            break
        if any(cell.strip() for cell in row):
            item = _row(row, columns, f"{path}:{line}", problems)
            if item is not None:
                if item.external_id in first_line:
                    message = t("okr_work.csv.duplicate", id=item.external_id, line=first_line[item.external_id])
                    problems.append(Problem(f"{path}:{line}", "id", message, t("okr_work.csv.duplicate_hint")))
                else:
                    first_line[item.external_id] = line
                    items.append(item)
        line = reader.line_num + 1
    if problems:
        raise InvalidConfig(problems, path=str(path))
    return items


def _columns(header: list[str], path: Path, problems: list[Problem]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower().replace(" ", "_")
        name = ALIASES.get(name, name)
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = (
                t("okr_work.csv.did_you_mean", name=close[0])
                if close
                else t("okr_work.csv.columns_hint", columns=", ".join(COLUMNS))
            )
            problems.append(Problem(f"{path}:1", raw, t("okr_work.csv.unknown_column", column=raw), hint))
        elif name in columns:
            problems.append(Problem(f"{path}:1", raw, t("okr_work.csv.repeated_column", column=raw)))
        else:
            columns[name] = index
    for name in REQUIRED:
        if name not in columns:
            problems.append(
                Problem(f"{path}:1", name, t("okr_work.csv.missing_column", column=name), t("okr_work.csv.header_hint"))
            )
    if problems:  # the rows cannot be read without the right header
        raise InvalidConfig(problems, path=str(path))
    return columns


def _row(row: list[str], columns: dict[str, int], where: str, problems: list[Problem]) -> WorkItem | None:
    def cell(name: str) -> str:
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    before = len(problems)
    if len(row) > len(columns):
        problems.append(Problem(where, "", t("okr_work.csv.too_many_cells", found=len(row), expected=len(columns))))
    for name in REQUIRED:
        if not cell(name):
            problems.append(Problem(where, name, t("okr_work.csv.empty_cell", column=name)))
    points: float | None = None
    if cell("points"):
        try:
            points = float(cell("points"))
        except ValueError:
            points = math.nan
        if not (math.isfinite(points) and points >= 0):
            problems.append(Problem(where, "points", t("okr_work.csv.bad_number", value=cell("points"))))
    done_text = cell("done").lower()
    if done_text and done_text not in _TRUE | _FALSE:
        problems.append(
            Problem(where, "done", t("okr_work.csv.bad_done", value=cell("done")), t("okr_work.csv.done_hint"))
        )
    updated = parse_time(cell("updated_at")) if cell("updated_at") else None
    if cell("updated_at") and updated is None:
        problems.append(
            Problem(
                where, "updated_at", t("okr_work.csv.bad_time", value=cell("updated_at")), t("okr_work.csv.time_hint")
            )
        )
    if len(problems) > before:
        return None
    status = cell("status")
    done = done_text in _TRUE if done_text else status.lower() in DONE_STATUSES
    labels = tuple(label.strip() for label in _LABEL_SPLIT.split(cell("labels")) if label.strip())
    return WorkItem(
        source=CsvImporter.source, external_id=cell("id"), title=cell("title"), status=status,
        done=done, points=points, labels=labels, url=cell("url") or None, assignee=cell("assignee") or None,
        updated_at=updated, kind=cell("kind") or "task",
    )  # fmt: skip
