"""HWP 5.x (Hancom's binary format): the OLE container read with olefile, each ``BodyText/SectionN``
stream inflated with zlib and its records walked: paragraph text (PARA_TEXT) and tables (a ``tbl ``
control, its TABLE record's row/column count, one LIST_HEADER per cell). Headings come from the ``DocInfo``
stream (:mod:`andon.knowledge.parsers.hwp_styles`): a paragraph whose shape is an outline level, or whose
style is named 개요 N / Outline N / 제목, is a heading. Password and distribution documents are refused.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from andon.knowledge.document import Block, DocumentError, ParsedDocument, heading, paragraph, table
from andon.knowledge.parsers.hwp_styles import Styles, doc_styles

VERSION = "2"  # 2: headings from DocInfo styles and outline levels
SIGNATURE = b"HWP Document File"
_BEGIN = 0x10
PARA_HEADER, PARA_TEXT, CTRL_HEADER, LIST_HEADER, TABLE = (
    _BEGIN + 50,
    _BEGIN + 51,
    _BEGIN + 55,
    _BEGIN + 56,
    _BEGIN + 61,
)
_TABLE_ID = b" lbt"  # the control id 'tbl ' as stored (a little-endian dword)
# Control characters that occupy 8 code units (an id and parameters follow them in the text).
_WIDE = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23})
_SECTION = re.compile(r"^Section(\d+)$")


def records(data: bytes) -> list[tuple[int, int, bytes]]:
    """``(tag, level, payload)`` of each record in a section stream."""
    out: list[tuple[int, int, bytes]] = []
    offset = 0
    while offset + 4 <= len(data):
        (header,) = struct.unpack_from("<I", data, offset)
        offset += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if offset + 4 > len(data):
                break
            (size,) = struct.unpack_from("<I", data, offset)
            offset += 4
        out.append((tag, level, data[offset : offset + size]))
        offset += size
    return out


def para_text(payload: bytes) -> str:
    """A PARA_TEXT record's characters, control characters dropped (a tab and a line break kept)."""
    units = struct.unpack(f"<{len(payload) // 2}H", payload[: len(payload) // 2 * 2])
    chars: list[str] = []
    i = 0
    while i < len(units):
        code = units[i]
        if code >= 32:
            chars.append(chr(code))
            i += 1
        elif code in _WIDE:
            if code == 9:
                chars.append("\t")
            i += 8
        else:
            if code == 10:
                chars.append("\n")
            i += 1
    return "".join(chars).strip()


@dataclass
class _Table:
    level: int
    cols: int = 0
    cells: list[list[str]] = field(default_factory=list)


def section_blocks(data: bytes, styles: Styles | None = None) -> list[Block]:
    """Paragraphs, headings and tables of one inflated section stream, in order."""
    blocks: list[Block] = []
    current: _Table | None = None
    outline: int | None = None  # heading level of the paragraph whose PARA_HEADER came last
    for tag, level, payload in records(data):
        if current is not None and level <= current.level and tag != TABLE:
            blocks.append(_finish(current))
            current = None
        if tag == PARA_HEADER:
            outline = None
            if styles is not None and level == 0 and len(payload) >= 11:  # body paragraphs only, not cells
                outline = styles.level(*struct.unpack_from("<HB", payload, 8))  # para shape id, style id
        elif tag == CTRL_HEADER and payload[:4] == _TABLE_ID and current is None:
            current = _Table(level)
        elif tag == TABLE and current is not None and len(payload) >= 8:
            current.cols = struct.unpack_from("<H", payload, 6)[0]
        elif tag == LIST_HEADER and current is not None:
            current.cells.append([])
        elif tag == PARA_TEXT:
            text = para_text(payload)
            if not text:
                continue
            if current is not None and current.cells:
                current.cells[-1].append(text)
            else:
                blocks.append(heading(text, outline) if outline else paragraph(text))
    if current is not None:
        blocks.append(_finish(current))
    return [b for b in blocks if b.text]


def _finish(current: _Table) -> Block:
    cols = current.cols or 1
    texts = [" ".join(cell) for cell in current.cells]
    rows = [texts[i : i + cols] for i in range(0, len(texts), cols)]
    return table(rows) or paragraph("")


def parse_hwp(data: bytes) -> ParsedDocument:
    """Every BodyText section in order."""
    import olefile  # the `knowledge` extra

    if not olefile.isOleFile(io.BytesIO(data)):
        raise DocumentError("not an OLE compound file, so not an HWP 5 file (an HWPX or HWP 3 file renamed?)")
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        if not ole.exists("FileHeader"):
            raise DocumentError("no FileHeader stream: not an HWP 5 document")
        header = ole.openstream("FileHeader").read()
        if not header.startswith(SIGNATURE) or len(header) < 40:
            raise DocumentError("the FileHeader does not carry the HWP signature")
        (flags,) = struct.unpack_from("<I", header, 36)
        if flags & 0x2:
            raise DocumentError("the HWP file is password-protected; save it without a password")
        if flags & 0x4:
            raise DocumentError("a distribution (배포용) HWP document: its text is encrypted")
        compressed = bool(flags & 0x1)
        inflate = (lambda raw: zlib.decompressobj(-15).decompress(raw)) if compressed else (lambda raw: raw)
        styles = _read_styles(ole, inflate)
        names = sorted(
            (int(m.group(1)), entry)
            for entry in ole.listdir()
            if len(entry) == 2 and entry[0] == "BodyText" and (m := _SECTION.match(entry[1]))
        )
        if not names:
            raise DocumentError("no BodyText/Section streams inside")
        blocks: list[Block] = []
        for _, entry in names:
            blocks.extend(section_blocks(inflate(ole.openstream(entry).read()), styles))
    major, minor = header[35], header[34]
    return ParsedDocument("hwp", f"{VERSION}+olefile", blocks, notes=[f"HWP {major}.{minor}", _styles_note(styles)])


def _read_styles(ole: Any, inflate: Callable[[bytes], bytes]) -> Styles | None:
    """The DocInfo stream's heading styles; None without one (the paragraphs then stay paragraphs)."""
    if not ole.exists("DocInfo"):
        return None
    try:
        return doc_styles(records(inflate(ole.openstream("DocInfo").read())))
    except zlib.error:  # a damaged DocInfo costs the headings, not the text
        return Styles(skipped=1)


def _styles_note(styles: Styles | None) -> str:
    if styles is None:
        return "no DocInfo stream: headings not read"
    return f"headings from DocInfo: {styles.summary()}"
