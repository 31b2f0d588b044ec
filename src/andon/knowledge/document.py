"""A parsed document: Markdown text plus blocks (headings, paragraphs, tables) that point into it by offset.

Chunkers cut the Markdown by character spans; a chunk's section path and page/line anchors are read back
from the blocks its span touches, so every chunk can cite "규정집.hwp › 제3장 › 제12조".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

BlockKind = Literal["heading", "paragraph", "table", "list"]


class DocumentError(ValueError):
    """A file that cannot be parsed (broken, encrypted, empty); the message says why."""


@dataclass(frozen=True, slots=True)
class Block:
    """One structural piece: its kind, text as written in the Markdown, and where it came from."""

    kind: BlockKind
    text: str
    level: int = 0  # heading level (1 = top); 0 for other blocks
    page: int | None = None  # 1-based page of a paged source (PDF)
    line: int | None = None  # 1-based line of a line-oriented source (TXT, Markdown, CSV)
    rows: list[list[str]] | None = None  # a table's cells, header first


@dataclass(frozen=True, slots=True)
class Span:
    """A block placed in the Markdown: ``markdown[start:end]``, with its section path."""

    block: Block
    start: int
    end: int
    section: tuple[str, ...]


@dataclass
class ParsedDocument:
    """What a parser gives: blocks in reading order, plus notes (encoding guess, pages without text)."""

    parser: str
    parser_version: str
    blocks: list[Block]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    pages: int | None = None
    pages_without_text: list[int] = field(default_factory=list)

    def layout(self) -> tuple[str, list[Span]]:
        """The Markdown text and every block's span in it, blocks separated by one blank line."""
        parts: list[str] = []
        spans: list[Span] = []
        path: list[tuple[int, str]] = []
        offset = 0
        for block in self.blocks:
            text = block.text.strip("\n")
            if not text.strip():
                continue
            if block.kind == "heading":
                while path and path[-1][0] >= block.level:
                    path.pop()
                path.append((block.level, _heading_title(text)))
            if parts:
                parts.append("\n\n")
                offset += 2
            parts.append(text)
            spans.append(Span(block, offset, offset + len(text), tuple(title for _, title in path)))
            offset += len(text)
        return "".join(parts), spans

    def markdown(self) -> str:
        """The document as Markdown."""
        return self.layout()[0]

    def structure(self) -> dict[str, Any]:
        """The JSON structure kept beside the Markdown: blocks with spans, sections, tables, page notes."""
        _, spans = self.layout()
        return {
            "parser": self.parser,
            "parser_version": self.parser_version,
            "encoding": self.encoding,
            "pages": self.pages,
            "pages_without_text": self.pages_without_text,
            "notes": self.notes,
            "blocks": [_span_json(s) for s in spans],
            "sections": [list(s.section) for s in spans if s.block.kind == "heading"],
            "tables": [s.block.rows for s in spans if s.block.kind == "table" and s.block.rows is not None],
        }


def _heading_title(text: str) -> str:
    return text.lstrip("#").strip()


def _span_json(span: Span) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": span.block.kind,
        "start": span.start,
        "end": span.end,
        "section": list(span.section),
    }
    for name in ("level", "page", "line"):
        value = getattr(span.block, name)
        if value:
            data[name] = value
    return data


def spans_from_structure(structure: dict[str, Any]) -> list[dict[str, Any]]:
    """The block spans kept in a stored structure (what chunkers need to find sections and anchors)."""
    return list(structure.get("blocks", []))


def heading(text: str, level: int, **where: Any) -> Block:
    """A Markdown heading block (``#`` × level)."""
    level = max(1, min(level, 6))
    return Block("heading", f"{'#' * level} {' '.join(text.split())}", level=level, **where)


def table(rows: Iterable[Iterable[str]], **where: Any) -> Block | None:
    """A Markdown pipe table from rows (first row the header); None when there are no cells."""
    cells = [[_cell(c) for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return None
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return Block("table", "\n".join(lines), rows=cells, **where)


def _cell(value: str) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def paragraph(text: str, **where: Any) -> Block:
    """A paragraph block."""
    return Block("paragraph", text.strip(), **where)
