"""Appending cases to a dataset file in its own format — YAML, JSON Lines or CSV — never losing what it holds.

The new file is written beside the old one and renamed over it, so a failure leaves the old file as it was.
Before the rename, the new text is read back the way ``andon eval`` reads it: the cases that were there must
come back unchanged and the new ones exactly as meant, or nothing is written. YAML is appended as text after
the last case when the list ends the file (every existing byte, comments included, stays), else through a
ruamel round trip, which keeps comments too.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from andon.errors import AndonError, ConfigError
from andon.evals.dataset import RESERVED_COLUMNS, parse_cases
from andon.messages import t

SUFFIXES = (".yaml", ".yml", ".jsonl", ".csv")
_BOM = "\ufeff"
_YAML_WIDTH = 1 << 16  # never fold a long line: what is written is what a reader sees


class DatasetWriteError(AndonError):
    """The dataset could not be written (disk, permissions, or a file that changed meanwhile); it is as it was."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A case already in the file: where it is (``file:line``) and what the loader reads there."""

    where: str
    raw: Any


class CaseFile:
    """One dataset file opened for appending: the cases it holds by id, and writing new ones in its format."""

    def __init__(self, path: Path, data: bytes | None) -> None:
        self.path = path
        self._target = path.resolve()  # a symlinked dataset stays a symlink
        self.suffix = path.suffix.lower()
        if self.suffix not in SUFFIXES:
            raise ConfigError(
                t("review.export.format", path=path, suffix=path.suffix or "(no suffix)"),
                where="--to-dataset",
                hint=t("review.export.format_hint"),
            )
        self._load(data)

    def _load(self, data: bytes | None) -> None:
        self._data = data
        text = data.decode("utf-8") if data is not None else ""
        self._bom = text.startswith(_BOM)
        self.text = text.removeprefix(_BOM)
        self.raw = self._parse(self.text) if self.text.strip() else []
        self.cases: dict[str, Stored] = {}
        for where, item in self.raw:
            if isinstance(item, dict) and item.get("id") is not None:
                self.cases.setdefault(str(item["id"]), Stored(where, item))

    @classmethod
    def open(cls, path: Path) -> CaseFile:
        """Read ``path`` (a missing file is an empty dataset); a file andon cannot read is refused here."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            raise _write_error(path, exc) from None
        try:
            return cls(path, data)
        except UnicodeDecodeError as exc:
            raise ConfigError(t("house2.data.not_utf8", start=exc.start), where=str(path)) from None

    def same(self, stored: Stored, case: dict[str, Any]) -> bool:
        """Whether the case in the file means what ``case`` means (as the loader reads both)."""
        try:
            return bool(_meaning(stored.raw, case) == _meaning(self._read_back(case), case))
        except (AndonError, YAMLError, csv.Error):
            return False

    def unfit(self, case: dict[str, Any]) -> str | None:
        """Why this format cannot hold ``case`` exactly (CSV cells are text), or None."""
        try:
            back = _meaning(self._read_back(case), case)
        except (AndonError, YAMLError, csv.Error):
            return t("review.export.unverified")
        meant = _meaning(case)
        if back == meant:
            return None
        field, value = _first_difference(meant, back)
        shown = json.dumps(value, ensure_ascii=False)
        if self.suffix == ".csv":
            return t("review.export.csv_cannot_hold", field=field, value=shown)
        return t("review.export.unverified")

    def append(self, cases: Sequence[dict[str, Any]]) -> None:
        """Add ``cases`` after the file's own, checked by reading back, then atomically replace the file."""
        if not cases:
            return
        for text in self._candidates(list(cases)):
            if self._reads_back(text, cases):
                self._replace(text)
                return
        raise DatasetWriteError(
            t("review.export.unverified"), where=str(self.path), hint=t("review.export.unverified_hint")
        )

    # Formats -----------------------------------------------------------------------------------------------

    def _parse(self, text: str) -> list[tuple[str, Any]]:
        if self.suffix in (".yaml", ".yml") and _yaml_root(text, self.path) is None:
            return []  # only comments so far
        try:
            return parse_cases(text, self.path)
        except csv.Error as exc:
            raise ConfigError(
                t("house2.review.csv", error=exc), where=str(self.path), hint=t("house2.review.csv_hint")
            ) from None

    def _read_back(self, case: dict[str, Any]) -> Any:
        """``case`` written alone in this format and read as the loader reads it."""
        if self.suffix == ".jsonl":
            text = _json_line(case) + "\n"
        elif self.suffix == ".csv":
            header = _csv_header(self._csv_rows()[:1], [case])
            text = _csv_text([header, _csv_row(header, case)], "\n")
        else:
            text = _yaml_items([case], 0)
        ((_, raw),) = parse_cases(text, self.path)
        return raw

    def _candidates(self, cases: list[dict[str, Any]]) -> list[str]:
        """Texts of the whole file with ``cases`` appended, the least intrusive first."""
        newline = "\r\n" if "\r\n" in self.text else "\n"
        ended = self.text if not self.text or self.text.endswith("\n") else self.text + newline
        if self.suffix == ".jsonl":
            return [ended + "".join(_json_line(c) + newline for c in cases)]
        if self.suffix == ".csv":
            return [self._csv_appended(cases, ended, newline)]
        return _yaml_candidates(self.text, ended, cases, self.path)

    def _csv_rows(self) -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.text)))

    def _csv_appended(self, cases: list[dict[str, Any]], ended: str, newline: str) -> str:
        rows = self._csv_rows()
        header = _csv_header(rows[:1], cases)
        new_rows = [_csv_row(header, c) for c in cases]
        if rows and header == rows[0]:
            return ended + _csv_text(new_rows, newline)
        # New columns: every row is rewritten with empty cells there (the loader reads the same values).
        width = len(header)
        old = [row + [""] * (width - len(row)) for row in rows[1:]]
        return _csv_text([header, *old, *new_rows], newline)

    # Writing -----------------------------------------------------------------------------------------------

    def _reads_back(self, text: str, cases: Sequence[dict[str, Any]]) -> bool:
        try:
            raw = parse_cases(text, self.path)
        except (AndonError, YAMLError, csv.Error):
            return False
        before = [item for _, item in self.raw]
        after = [item for _, item in raw]
        if len(after) != len(before) + len(cases):
            return False
        if self.suffix == ".csv":
            # A new column gives old rows an empty variable there; their other fields must not change.
            kept = all(_meaning(a, b) == _meaning(b) for a, b in zip(after, before, strict=False))
        else:
            kept = after[: len(before)] == before
        added = all(_meaning(a, c) == _meaning(c) for a, c in zip(after[len(before) :], cases, strict=True))
        return kept and added

    def _replace(self, text: str) -> None:
        """Write beside the file, fsync, rename over it; the old file stays whole if anything fails."""
        current = self._target.read_bytes() if self._target.exists() else None
        if current != self._data:
            raise DatasetWriteError(
                t("review.export.changed"), where=str(self.path), hint=t("review.export.changed_hint")
            )
        temporary = self._target.with_name(f".{self._target.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(temporary, "xb") as handle:
                handle.write(((_BOM if self._bom else "") + text).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            if current is not None:
                shutil.copymode(self._target, temporary)
            os.replace(temporary, self._target)
            _sync_folder(self._target.parent)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise _write_error(self.path, exc) from None
        self._load(self._target.read_bytes())


def _write_error(path: Path, exc: OSError) -> DatasetWriteError:
    return DatasetWriteError(
        t("review.export.write_failed", problem=exc.strerror or str(exc)),
        where=str(path),
        hint=t("review.export.write_failed_hint"),
    )


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); where folders cannot be opened, the rename is all there is."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# What a case means -----------------------------------------------------------------------------------------


def _meaning(raw: Any, meant: Any = None) -> Any:
    """A case without the empty fields formats write differently (no reason, an empty CSV cell …).

    With ``meant``, an empty variable that ``meant`` does not have is dropped too: a CSV row has every
    column, so a case appended to a file with more columns reads back with those variables empty.
    """
    if not isinstance(raw, dict):
        return raw
    names = set((meant.get("vars") or {}) if isinstance(meant, dict) else ())
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "vars" and isinstance(value, dict) and meant is not None:
            value = {k: v for k, v in value.items() if v != "" or k in names}
        if key == "id" and value is not None:
            value = str(value)
        if value is None or value == "" or value == [] or value == {}:
            continue
        out[key] = value
    return out


def _first_difference(meant: dict[str, Any], back: Any) -> tuple[str, Any]:
    back = back if isinstance(back, dict) else {}
    for name, value in (meant.get("vars") or {}).items():
        if (back.get("vars") or {}).get(name) != value:
            return f"vars.{name}", value
    for key, value in meant.items():
        if back.get(key) != value:
            return key, value
    return "case", meant


# JSON Lines ------------------------------------------------------------------------------------------------


def _json_line(case: dict[str, Any]) -> str:
    return json.dumps(case, ensure_ascii=False, allow_nan=False)


# CSV -------------------------------------------------------------------------------------------------------


def _var_of(column: str) -> str | None:
    """The variable a CSV column holds, as the loader reads it (None: a case field, not a variable)."""
    if column in RESERVED_COLUMNS or column.startswith("human."):
        return None
    return column.removeprefix("vars.")


def _var_column(header: list[str], name: str) -> str:
    existing = next((c for c in header if _var_of(c) == name), None)
    if existing is not None:
        return existing
    return name if _var_of(name) == name else f"vars.{name}"


def _csv_header(first: list[list[str]], cases: Sequence[dict[str, Any]]) -> list[str]:
    """The file's header, plus the columns ``cases`` need that it lacks (in the order they are met)."""
    header = list(first[0]) if first else []
    wanted: list[str] = []
    for case in cases:
        if "id" in case:
            wanted.append("id")
        wanted += [_var_column(header + wanted, name) for name in case.get("vars") or {}]
        wanted += [key for key in ("label", "expected", "tags", "reason") if case.get(key) not in (None, "", [])]
        wanted += [f"human.{name}" for name in case.get("human") or {}]
    for column in wanted:
        if column not in header:
            header.append(column)
    return header


def _csv_row(header: list[str], case: dict[str, Any]) -> list[str]:
    cells = {column: "" for column in header}
    for name, value in (case.get("vars") or {}).items():
        cells[_var_column(header, name)] = _cell(value)
    for key in ("id", "label", "reason"):
        if case.get(key) not in (None, "") and key in cells:
            cells[key] = str(case[key])
    if case.get("expected") is not None:
        expected = case["expected"]
        cells["expected"] = expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)
    if case.get("tags"):
        cells["tags"] = ";".join(str(tag) for tag in case["tags"])
    for name, value in (case.get("human") or {}).items():
        cells[f"human.{name}"] = _cell(value)
    return [cells[column] for column in header]


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _csv_text(rows: list[list[str]], newline: str) -> str:
    """Rows as CSV ending in ``newline``; a cell holding \r or \n is always quoted, whatever ``newline`` is."""
    out = []
    for row in rows:
        buffer = io.StringIO(newline="")
        # The writer quotes only the characters of its own terminator: write with both, then swap the ending.
        csv.writer(buffer, lineterminator="\r\n").writerow(row)
        out.append(buffer.getvalue().removesuffix("\r\n") + newline)
    return "".join(out)


# YAML ------------------------------------------------------------------------------------------------------


def _yaml(indent: int = 0) -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = _YAML_WIDTH
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=indent + 2, offset=indent)
    return yaml


def _yaml_root(text: str, path: Path) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError:
        return parse_cases(text, path)  # raises the loader's error, which names the line and column


def _yaml_candidates(text: str, ended: str, cases: list[dict[str, Any]], path: Path) -> list[str]:
    root = _yaml_root(text, path) if text.strip() else None
    if root is None:
        return [ended + _yaml_items(cases, 0)]
    if isinstance(root, CommentedMap) and isinstance(root.get("cases"), CommentedSeq):
        seq, last = root["cases"], list(root)[-1] == "cases"
    elif isinstance(root, CommentedSeq):
        seq, last = root, True
    else:
        raise ConfigError(t("review.export.yaml_root"), where=f"{path}:1:1", hint=t("review.export.yaml_root_hint"))
    candidates = []
    if last and len(seq) and not seq.fa.flow_style():
        candidates.append(ended + _yaml_items(cases, seq.lc.col))  # after the last case: every byte kept
    candidates.append(_yaml_round_trip(root, seq, cases))
    return candidates


def _yaml_round_trip(root: Any, seq: CommentedSeq, cases: list[dict[str, Any]]) -> str:
    """The whole document through ruamel (comments and quoting kept), with ``cases`` added to its list."""
    column = seq.lc.col if len(seq) and seq is not root else 0
    for case in cases:
        seq.append(_yaml_node(case))
    seq.fa.set_block_style()  # `cases: []` grows into a readable block list
    buffer = io.StringIO()
    _yaml(column).dump(root, buffer)
    return buffer.getvalue()


def _yaml_items(cases: list[dict[str, Any]], column: int) -> str:
    """``cases`` as YAML list items whose dashes stand at ``column``."""
    buffer = io.StringIO()
    _yaml().dump(CommentedSeq(_yaml_node(c) for c in cases), buffer)
    pad = " " * column
    # Split on \n only: a string may hold U+2028 or \x85, which splitlines() would also break on.
    return "\n".join(pad + line if line.strip() else line for line in buffer.getvalue().split("\n"))


def _yaml_node(value: Any, *, key: str | None = None) -> Any:
    """Plain JSON data as ruamel nodes: ``$`` doubled in text (the loader reads ``${…}``), tags in one line."""
    if isinstance(value, dict):
        node = CommentedMap()
        for name, child in value.items():
            name = str(name)
            node[name if name.isprintable() else DoubleQuotedScalarString(name)] = _yaml_node(child, key=name)
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_yaml_node(child) for child in value)
        if key == "tags":
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str):
        text = value.replace("$", "$$")
        # Plain or single-quoted text would fold line breaks such as U+0085 or U+2028 into spaces; double
        # quotes write every non-printable character as an escape, so it reads back as it was.
        return DoubleQuotedScalarString(text) if not text.isprintable() else text
    return value
