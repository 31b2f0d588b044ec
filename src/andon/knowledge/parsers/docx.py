"""DOCX with python-docx: headings (Heading/Title/제목 styles), list paragraphs and tables, in body order."""

from __future__ import annotations

import io
import re
import zipfile

from andon.knowledge.document import Block, DocumentError, ParsedDocument, heading, paragraph, table

VERSION = "1"
_LEVEL = re.compile(r"(?:heading|제목)\s*(\d)", re.I)


def parse_docx(data: bytes) -> ParsedDocument:
    """Body paragraphs and tables in reading order."""
    import docx  # python-docx, the `knowledge` extra

    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise DocumentError("an OLE file, not a ZIP: password-protected DOCX (or an old .doc); remove the password")
        raise DocumentError("not a ZIP archive, so not a DOCX file (broken or renamed?)")
    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    # python-docx resolves a paragraph's style by searching the styles part each time (milliseconds a
    # paragraph); one lookup per style id keeps long documents fast.
    styles: dict[str | None, str] = {}
    for item in document.iter_inner_content():
        if isinstance(item, docx.table.Table):
            block = table([[cell.text for cell in row.cells] for row in item.rows])
            if block is not None:
                blocks.append(block)
            continue
        text = item.text.strip()
        if not text:
            continue
        style_id = item._p.style
        if style_id not in styles:
            styles[style_id] = (item.style.name if item.style is not None else "") or ""
        style = styles[style_id]
        match = _LEVEL.search(style)
        if style.lower() == "title":
            blocks.append(heading(text, 1))
        elif match:
            blocks.append(heading(text, int(match.group(1))))
        elif "list" in style.lower() or (item._p.pPr is not None and item._p.pPr.numPr is not None):
            blocks.append(Block("list", f"- {text}"))
        else:
            blocks.append(paragraph(text))
    return ParsedDocument("docx", f"{VERSION}+python-docx", blocks)
