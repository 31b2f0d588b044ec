"""Fixture makers: every test file of a format is built here, in code, so what made it is written down.

DOCX by python-docx; HWPX as an OWPML ZIP written with zipfile (the parts a Hancom Office 2020 file has
that the parser reads: mimetype, Contents/header.xml styles, Contents/section0.xml); PDF written by hand
(one Type1 Helvetica font, one content stream per page; a page with no text stream stands for a scan).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

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
