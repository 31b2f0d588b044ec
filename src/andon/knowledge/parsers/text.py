"""Plain text and Markdown: paragraphs at blank lines, ATX headings (``#``) and pipe tables kept as blocks."""

from __future__ import annotations

import re

from andon.knowledge.document import Block, ParsedDocument, heading
from andon.knowledge.parsers.encoding import decode

VERSION = "1"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def parse_text(data: bytes) -> ParsedDocument:
    """Plain text: one paragraph per run of non-blank lines, line numbers kept."""
    text, encoding = decode(data)
    blocks = [Block("paragraph", body, line=line) for line, body in _paragraphs(text.splitlines())]
    return ParsedDocument("text", VERSION, blocks, encoding=encoding)


def parse_markdown(data: bytes) -> ParsedDocument:
    """Markdown: headings, tables (lines starting with ``|``) and paragraphs, line numbers kept."""
    text, encoding = decode(data)
    blocks: list[Block] = []
    buffer: list[str] = []
    start = 0
    kind = "paragraph"
    in_fence = False

    def flush() -> None:
        if buffer and any(s.strip() for s in buffer):
            blocks.append(Block("table" if kind == "table" else "paragraph", "\n".join(buffer), line=start))
        buffer.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            blocks.append(heading(match.group(2), len(match.group(1)), line=number))
            continue
        line_kind = "table" if line.lstrip().startswith("|") and not in_fence else "paragraph"
        if not line.strip() and not in_fence:
            flush()
            continue
        if buffer and line_kind != kind:
            flush()
        if not buffer:
            start, kind = number, line_kind
        buffer.append(line)
    flush()
    return ParsedDocument("markdown", VERSION, blocks, encoding=encoding)


def _paragraphs(lines: list[str]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not buffer:
                start = number
            buffer.append(line.rstrip())
        elif buffer:
            out.append((start, "\n".join(buffer)))
            buffer = []
    if buffer:
        out.append((start, "\n".join(buffer)))
    return out
