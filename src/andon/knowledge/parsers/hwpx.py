"""HWPX (OWPML, KS X 6101): the section XML files of the ZIP read directly with the standard library.

Headings come from paragraph styles named 개요 N / Outline N / 제목 N (looked up in ``Contents/header.xml``);
tables (``hp:tbl``) become pipe tables, cell by cell.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree as ET

from andon.knowledge.document import Block, DocumentError, ParsedDocument, heading, paragraph, table

VERSION = "1"
_LEVEL = re.compile(r"(?:개요|outline|제목|heading)\s*(\d)", re.I)
_SECTION = re.compile(r"Contents/section(\d+)\.xml$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_hwpx(data: bytes) -> ParsedDocument:
    """Sections in order; paragraphs, headings and tables."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DocumentError("not a ZIP archive, so not an HWPX file (an HWP 5 file renamed, or broken?)")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
            raise DocumentError("the HWPX file is password-protected (encrypted); save it without a password")
        sections = sorted((n for n in names if _SECTION.search(n)), key=lambda n: int(_SECTION.search(n).group(1)))  # type: ignore[union-attr]
        if not sections:
            raise DocumentError("no Contents/section*.xml inside: not an HWPX document")
        levels = _style_levels(archive.read("Contents/header.xml")) if "Contents/header.xml" in names else {}
        blocks: list[Block] = []
        for name in sections:
            root = ET.fromstring(archive.read(name))
            for p in root:
                if _local(p.tag) == "p":
                    blocks.extend(_paragraph(p, levels))
    return ParsedDocument("hwpx", VERSION, blocks)


def _style_levels(header: bytes) -> dict[str, int]:
    levels: dict[str, int] = {}
    for element in ET.fromstring(header).iter():
        if _local(element.tag) == "style":
            name = f"{element.get('name', '')} {element.get('engName', '')}"
            match = _LEVEL.search(name)
            if match and element.get("id") is not None:
                levels[str(element.get("id"))] = int(match.group(1))
    return levels


def _text(element: ET.Element) -> str:
    """The text of a paragraph's runs, tables inside it left out."""
    parts: list[str] = []
    for run in element:
        if _local(run.tag) != "run":
            continue
        for child in run:
            kind = _local(child.tag)
            if kind == "t":
                parts.append("".join(child.itertext()))
            elif kind in {"lineBreak"}:
                parts.append("\n")
    return "".join(parts)


def _paragraph(p: ET.Element, levels: dict[str, int]) -> list[Block]:
    blocks: list[Block] = []
    text = _text(p).strip()
    if text:
        level = levels.get(p.get("styleIDRef", ""))
        blocks.append(heading(text, level) if level else paragraph(text))
    for tbl in p.iter():
        if _local(tbl.tag) == "tbl":
            rows = [
                [
                    " ".join(_text(cp).strip() for cp in tc.iter() if _local(cp.tag) == "p").strip()
                    for tc in tr
                    if _local(tc.tag) == "tc"
                ]
                for tr in tbl
                if _local(tr.tag) == "tr"
            ]
            block = table(rows)
            if block is not None:
                blocks.append(block)
    return blocks
