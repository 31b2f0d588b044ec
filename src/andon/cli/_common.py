"""What every command shares: consoles, global options, opening the workspace, JSON output, listings."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from andon.errors import ConfigError
from andon.messages import t
from andon.workspace import Workspace

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Options:
    """Global options set by the top-level callback."""

    workspace: Path | None = None


options = Options()


def open_workspace() -> Workspace:
    """The workspace named by --workspace, ANDON_WORKSPACE, or found from the current folder."""
    return Workspace.open(options.workspace)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a command."""
    return asyncio.run(coro)


def json_object(text: str, where: str, keys: tuple[str, str, str, str]) -> dict[str, Any]:
    """An option's JSON object; ``keys``: the catalogue's (bad JSON, its hint, not an object, its hint)."""
    bad_json, bad_json_hint, not_object, not_object_hint = keys
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(t(bad_json, error=exc.msg, column=exc.colno), where=where, hint=t(bad_json_hint)) from None
    if not isinstance(value, dict):
        raise ConfigError(t(not_object), where=where, hint=t(not_object_hint))
    return value


def print_json(value: Any) -> None:
    """Machine-readable output on stdout: one JSON document, UTF-8, no colour."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


SHORT_ID = 12  # characters of a version id shown in tables (as `Version.short_id`); JSON has the whole id
ColumnKind = Literal["id", "text", "clip"]
_MIN_TEXT = 6  # narrower than this, text columns are unreadable: each row becomes a block instead


@dataclass
class _Column:
    header: str
    kind: ColumnKind
    justify: JustifyMethod


def _text(cell: str | Text) -> Text:
    """A cell as Text: str cells are console markup, as in a rich Table."""
    return Text.from_markup(cell) if isinstance(cell, str) else cell.copy()


def _width(cell: str | Text) -> int:
    """Terminal cells the widest line of ``cell`` takes."""
    return max((cell_len(line) for line in _text(cell).plain.splitlines()), default=0)


@dataclass
class Listing:
    """A table whose id columns are never wrapped nor cut, so ids can be copied (issue 16 item 13).

    Other columns wrap (``text``) or end in … (``clip``, one-line summaries). When the terminal is too
    narrow even for that, each row prints as a block: its ids whole on their own line, then one field a line.
    """

    title: str | None = None
    columns: list[_Column] = field(default_factory=list)
    rows: list[tuple[str | Text, ...]] = field(default_factory=list)

    def column(self, header: str, kind: ColumnKind = "text", justify: JustifyMethod = "left") -> None:
        """Add a column; ``kind="id"`` for ids (and short ids) a user copies into another command."""
        self.columns.append(_Column(header, kind, justify))

    def row(self, *cells: str | Text) -> None:
        """Add a row: one cell per column, str cells read as console markup."""
        self.rows.append(cells)

    def widths(self, width: int) -> list[int] | None:
        """Each column's width within ``width`` terminal cells, ids at full width; None when it cannot fit."""
        natural = [max([_width(c.header), *(_width(r[i]) for r in self.rows)]) for i, c in enumerate(self.columns)]
        fixed = sum(n for n, c in zip(natural, self.columns, strict=True) if c.kind == "id")
        free = width - fixed - (1 + 3 * len(self.columns))  # borders and one space of padding each side
        others = sorted(n for n, c in zip(natural, self.columns, strict=True) if c.kind != "id")
        if sum(others) <= free:
            return natural
        # Widest first: the other columns share ``free`` with one cap, as wide as they need below it.
        cap, left = 0, free
        for i, n in enumerate(others):
            share = left // (len(others) - i)
            if n > share:
                cap = share
                break
            left -= n
        if cap < _MIN_TEXT:
            return None
        return [n if c.kind == "id" else min(n, cap) for n, c in zip(natural, self.columns, strict=True)]

    def print(self, console: Console) -> None:
        """Print as a table when the ids fit whole, else as one block per row."""
        widths = self.widths(console.width)
        if widths is None:
            self._print_blocks(console)
            return
        table = Table(title=Text(self.title) if self.title else None)  # titles are plain text, not markup
        for column, width in zip(self.columns, widths, strict=True):
            table.add_column(
                column.header, justify=column.justify, width=width, no_wrap=column.kind != "text",
                overflow="ellipsis" if column.kind == "clip" else "fold",
            )  # fmt: skip
        for row in self.rows:
            table.add_row(*row)
        console.print(table)

    def _print_blocks(self, console: Console) -> None:
        if self.title:
            console.print(Text(self.title, style="italic"))
        ids = [i for i, c in enumerate(self.columns) if c.kind == "id"]
        for row in self.rows:
            if ids:  # the first id heads the block, alone on its line; the rest follow as fields
                head = _text(row[ids[0]])
                head.stylize("bold")
                console.print(head)
            for i, column in enumerate(self.columns):
                if i != (ids[0] if ids else None) and _width(row[i]):
                    console.print(Text.assemble(f"  {column.header}: ", _text(row[i])))
