"""Heading levels of an HWP 5 document from its ``DocInfo`` stream (HWP 5.0 spec, rev. 1.3, §4.2).

PARA_SHAPE records (HWPTAG_BEGIN+9, ids in record order): attribute 1's bits 23–24 are the paragraph head
kind (1 = 개요, outline) and bits 25–27 its level, 0 for the first. STYLE records (HWPTAG_BEGIN+10): a
WORD-counted local name, a WORD-counted English name, then a kind byte (bits 0–2: 0 paragraph, 1 character).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

_BEGIN = 0x10
PARA_SHAPE, STYLE = _BEGIN + 9, _BEGIN + 10
_OUTLINE = 1  # paragraph head kind 개요 (0 none, 2 number, 3 bullet)
_NUMBERED = re.compile(r"(?:개요|outline|제목|heading)\s*(\d+)", re.I)
_TITLE = re.compile(r"\s*(?:제목|title)\s*", re.I)  # the whole name: 차례 제목 (a TOC style) is no heading


def style_level(*names: str) -> int | None:
    """The heading level a style name stands for (개요 2 / Outline 2 / Heading 2 → 2, 제목 → 1), or None."""
    for name in names:
        if match := _NUMBERED.search(name):
            return max(1, int(match.group(1)))
    return 1 if any(_TITLE.fullmatch(name) for name in names if name) else None


@dataclass
class Styles:
    """Heading levels by paragraph shape id (outline paragraphs) and by paragraph style id (style names)."""

    shapes: dict[int, int] = field(default_factory=dict)
    styles: dict[int, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # every style's local name, in id order
    skipped: int = 0  # records too short to read

    def level(self, shape_id: int, style_id: int) -> int | None:
        """A paragraph's heading level: its shape's outline level first (what the document numbers), then its
        style's name; None for a body paragraph."""
        return self.shapes.get(shape_id) or self.styles.get(style_id)

    def summary(self) -> str:
        """What was found, for the parse notes."""
        heads = [self.names[i] for i in sorted(self.styles) if i < len(self.names)]
        text = f"{len(self.names)} styles ({', '.join(heads) or 'no heading styles'})"
        text += f", {len(self.shapes)} outline paragraph shapes"
        return text + (f", {self.skipped} unreadable records skipped" if self.skipped else "")


def doc_styles(records: list[tuple[int, int, bytes]]) -> Styles:
    """The heading levels found in the (inflated) DocInfo stream's records."""
    found = Styles()
    shape_id = style_id = 0
    for tag, _level, payload in records:
        if tag == PARA_SHAPE:
            if len(payload) >= 4:
                (attributes,) = struct.unpack_from("<I", payload, 0)
                if (attributes >> 23) & 0x3 == _OUTLINE:
                    found.shapes[shape_id] = ((attributes >> 25) & 0x7) + 1
            else:
                found.skipped += 1
            shape_id += 1
        elif tag == STYLE:
            parsed = _style(payload)
            if parsed is None:
                found.skipped += 1
                found.names.append("")
            else:
                local, english, kind = parsed
                found.names.append(local)
                level = style_level(local, english) if kind == 0 else None
                if level:
                    found.styles[style_id] = level
            style_id += 1
    return found


def _style(payload: bytes) -> tuple[str, str, int] | None:
    """``(local name, English name, kind)`` of a STYLE record, or None when it is cut short."""
    names: list[str] = []
    offset = 0
    for _ in range(2):
        if offset + 2 > len(payload):
            return None
        (length,) = struct.unpack_from("<H", payload, offset)
        offset += 2
        if offset + 2 * length > len(payload):
            return None
        names.append(payload[offset : offset + 2 * length].decode("utf-16-le", errors="replace"))
        offset += 2 * length
    if offset >= len(payload):
        return None
    return names[0], names[1], payload[offset] & 0x7
