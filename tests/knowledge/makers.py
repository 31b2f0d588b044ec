"""Fixture makers: every test file of a format is built here, in code, so what made it is written down.

DOCX by python-docx; HWPX as an OWPML ZIP written with zipfile (the parts a Hancom Office 2020 file has
that the parser reads: mimetype, Contents/header.xml styles, Contents/section0.xml); PDF written by hand
(one Type1 Helvetica font, one content stream per page; a page with no text stream stands for a scan);
HWP 5 as its records (PARA_HEADER/PARA_TEXT, a table control) deflated into an OLE compound file that
:func:`ole_bytes` writes by hand, as no tool here writes HWP files.
"""

from __future__ import annotations

import io
import itertools
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HH = "http://www.hancom.co.kr/hwpml/2011/head"


def docx_bytes() -> bytes:
    """A DOCX with a title, a Heading 2, a paragraph, a list item and a 2×2 table (Korean text)."""
    import docx

    document = docx.Document()
    document.add_heading("환불 규정", level=1)
    document.add_heading("제1조 환불 기간", level=2)
    document.add_paragraph("구매 후 7일 이내에 환불할 수 있습니다.")
    document.add_paragraph("영수증을 지참하세요", style="List Bullet")
    grid = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["항목", "기간"], ["의류", "7일"]]):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def hwpx_bytes(*, encrypted: bool = False) -> bytes:
    """An HWPX with an 개요 1 heading, a paragraph and a table inside a paragraph's run."""
    header = (
        f'<hh:head xmlns:hh="{HH}"><hh:refList><hh:styles>'
        '<hh:style id="0" name="바탕글" engName="Normal"/>'
        '<hh:style id="2" name="개요 1" engName="Outline 1"/>'
        "</hh:styles></hh:refList></hh:head>"
    )
    cell = lambda text: f"<hp:tc><hp:subList><hp:p><hp:run><hp:t>{text}</hp:t></hp:run></hp:p></hp:subList></hp:tc>"  # noqa: E731
    section = (
        f'<hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" xmlns:hp="{HP}">'
        '<hp:p styleIDRef="2"><hp:run><hp:t>제3장 배송</hp:t></hp:run></hp:p>'
        '<hp:p styleIDRef="0"><hp:run><hp:t>배송은 </hp:t></hp:run><hp:run><hp:t>2일 걸립니다.</hp:t></hp:run></hp:p>'
        '<hp:p styleIDRef="0"><hp:run><hp:tbl>'
        f"<hp:tr>{cell('지역')}{cell('기간')}</hp:tr><hp:tr>{cell('제주')}{cell('4일')}</hp:tr>"
        "</hp:tbl></hp:run></hp:p></hs:sec>"
    )
    manifest = '<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    if encrypted:
        manifest += '<odf:file-entry odf:full-path="Contents/section0.xml"><odf:encryption-data/></odf:file-entry>'
    manifest += "</odf:manifest>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("Contents/header.xml", header)
        archive.writestr("Contents/section0.xml", section)
    return out.getvalue()


def pdf_bytes(pages: Sequence[str | None]) -> bytes:
    """A PDF with one page per item: its text drawn in Helvetica, or no text at all for None (a 'scan')."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_ref = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        lines = (text or "").split("\n")
        ops = (
            "".join(f"BT /F1 12 Tf 72 {720 - 16 * n} Td ({line}) Tj ET\n" for n, line in enumerate(lines))
            if text
            else ""
        )
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font_ref} 0 R >> >> "
            f"/Contents {4 + 2 * i} 0 R >>".encode()
        )
        stream = ops.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _record(tag: int, level: int, payload: bytes) -> bytes:
    return struct.pack("<I", tag | (level << 10) | (len(payload) << 20)) + payload


Paragraph = str | tuple[str, int]  # text, or (text, style id): the paragraph uses that style and its shape


@dataclass(frozen=True)
class HwpStyle:
    """A DocInfo paragraph style; it gets the paragraph shape of the same id, an outline level when given."""

    local: str
    english: str
    outline: int | None = None  # 1-based 개요 level of the style's paragraph shape; None: a body shape


# The head of Hancom Office's default style list (ids 0-8): 바탕글, 본문, then 개요 1-7 on outline shapes.
HANCOM_STYLES = (
    HwpStyle("바탕글", "Normal"),
    HwpStyle("본문", "Body"),
    *(HwpStyle(f"개요 {n}", f"Outline {n}", outline=n) for n in range(1, 8)),
)


def _para(paragraph: Paragraph, level: int = 0) -> bytes:
    # PARA_HEADER (66): para shape id (UINT16 at 8) and style id (UINT8 at 10), the rest zero (the reader
    # needs no counts); then PARA_TEXT (67): UTF-16LE text ending in 13 (paragraph end)
    text, style = (paragraph, 0) if isinstance(paragraph, str) else paragraph
    head = b"\0" * 8 + struct.pack("<HB", style, style) + b"\0" * 11
    return _record(66, level, head) + _record(67, level + 1, text.encode("utf-16-le") + b"\r\0")


def hwp_section(paragraphs: Sequence[Paragraph], table_rows: Sequence[Sequence[str]] = ()) -> bytes:
    """HWP 5 section records: paragraphs, then a table (a 'tbl ' control, TABLE, one LIST_HEADER per cell)."""
    body = b"".join(_para(p) for p in paragraphs)
    if table_rows:
        cols = len(table_rows[0])
        # the paragraph holding the table: its text is the 8-unit extended control 11 (tables and drawings)
        body += _record(66, 0, b"\0" * 22) + _record(67, 1, struct.pack("<8H", 11, 0, 0, 0, 0, 0, 0, 11) + b"\r\0")
        body += _record(71, 1, b" lbt" + b"\0" * 40)
        body += _record(77, 2, struct.pack("<IHH", 0, len(table_rows), cols) + b"\0" * 10)
        for row in table_rows:
            for cell in row:
                body += _record(72, 2, b"\0" * 34) + _para(cell, level=3)
    return body


def hwp_docinfo(styles: Sequence[HwpStyle]) -> bytes:
    """DocInfo records: DOCUMENT_PROPERTIES (16), ID_MAPPINGS (17), one PARA_SHAPE (25, 54 bytes) and one
    STYLE (26) per style. A shape's attribute 1 carries the head kind in bits 23-24 (1 = 개요) and the level
    in bits 25-27 (0 = level 1), as the HWP 5.0 spec's table 44 says."""
    counts = [0] * 18
    counts[13] = counts[14] = len(styles)  # paragraph shapes, styles
    out = _record(16, 0, struct.pack("<H", 1) + b"\0" * 24) + _record(17, 0, struct.pack("<18i", *counts))
    for style in styles:
        attributes = (1 << 23 | (style.outline - 1) << 25) if style.outline else 0
        out += _record(25, 1, struct.pack("<I", attributes) + b"\0" * 50)
    for n, style in enumerate(styles):
        names = b"".join(
            struct.pack("<H", len(name)) + name.encode("utf-16-le") for name in (style.local, style.english)
        )
        # kind 0 (paragraph style), next style id, language id 1042 (Korean), para shape id, char shape id
        out += _record(26, 1, names + struct.pack("<BBhHH", 0, n, 1042, n, 0))
    return out


def hwp_bytes(
    paragraphs: Sequence[Paragraph],
    table_rows: Sequence[Sequence[str]] = (),
    *,
    flags: int = 1,
    styles: Sequence[HwpStyle] | None = None,
) -> bytes:
    """An HWP 5.0.3.0 file: FileHeader, DocInfo (only when ``styles`` are given) and BodyText/Section0, the
    record streams raw-deflated when flags & 1, in an OLE container.

    The container is written by :func:`ole_bytes` below (regular sectors only: each stream is padded to
    4,096 bytes, so no mini stream is needed; readers stop at the records' or the deflate stream's end).
    """
    header = SIGNATURE_HWP.ljust(32, b"\0") + struct.pack("<I", 0x05000300) + struct.pack("<I", flags)

    def pack(data: bytes) -> bytes:
        if not flags & 1:
            return data
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()

    streams = {"FileHeader": header.ljust(256, b"\0")}
    if styles is not None:
        streams["DocInfo"] = pack(hwp_docinfo(styles))
    streams["BodyText/Section0"] = pack(hwp_section(paragraphs, table_rows))
    return ole_bytes(streams)


SIGNATURE_HWP = b"HWP Document File"
_FREE, _END, _FAT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _entry(
    name: str, kind: int, *, child: int = _NOSTREAM, right: int = _NOSTREAM, start: int = _END, size: int = 0
) -> bytes:
    encoded = (name.encode("utf-16-le") + b"\0\0") if name else b""
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", _NOSTREAM, right, child)
        + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
        + struct.pack("<IQ", start, size)
    )  # fmt: skip


def ole_bytes(streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file holding ``streams`` (names ``Stream`` or ``Storage/Stream``, in the order
    given): 512-byte sectors, one FAT sector, the directory sectors, then each stream's sectors (padded to
    the 4,096-byte cutoff). Siblings hang as a chain ordered as the format orders names (length, then upper
    case), each node's right sibling the next larger, all black."""
    names: list[tuple[str, ...]] = []  # directory entries after the root, in id order
    for path in streams:
        parts = tuple(path.split("/"))
        for depth in range(1, len(parts) + 1):
            if parts[:depth] not in names:
                names.append(parts[:depth])
    datas = {path: data.ljust(max(4096, -(-len(data) // 512) * 512), b"\0") for path, data in streams.items()}
    entries = 1 + len(names)
    dir_sectors = -(-entries // 4)
    fat = [_FAT] + [n + 2 for n in range(dir_sectors - 1)] + [_END]
    starts: dict[str, int] = {}
    for path, data in datas.items():
        starts[path] = len(fat)
        count = len(data) // 512
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [_END]
    assert len(fat) <= 128
    fat += [_FREE] * (128 - len(fat))
    ids = {name: n for n, name in enumerate(names, start=1)}

    def chain(parent: tuple[str, ...]) -> list[tuple[str, ...]]:
        kids = [n for n in names if n[:-1] == parent]
        return sorted(kids, key=lambda n: (len(n[-1]), n[-1].upper()))

    child: dict[tuple[str, ...], int] = {}
    right: dict[tuple[str, ...], int] = {}
    for parent in [(), *names]:
        kids = chain(parent)
        if kids:
            child[parent] = ids[kids[0]]
            right.update({a: ids[b] for a, b in itertools.pairwise(kids)})
    directory = _entry("Root Entry", 5, child=child.get((), _NOSTREAM))
    for name in names:
        path = "/".join(name)
        if path in datas:
            directory += _entry(
                name[-1], 2, right=right.get(name, _NOSTREAM), start=starts[path], size=len(datas[path])
            )
        else:
            directory += _entry(name[-1], 1, child=child.get(name, _NOSTREAM), right=right.get(name, _NOSTREAM))
    directory += _entry("", 0, start=0) * (dir_sectors * 4 - entries)
    # signature, CLSID; minor 0x3E, major 3, byte order, 512-byte sectors, 64-byte mini sectors; reserved
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
    # directory sectors (0 in v3), FAT sectors 1, first directory sector 1, transaction 0, mini cutoff,
    # first mini FAT (none), mini FAT sectors 0, first DIFAT sector (none), DIFAT sectors 0
    head += struct.pack("<9I", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
    head += struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108  # the FAT is sector 0
    return head + struct.pack("<128I", *fat) + directory + b"".join(datas.values())
