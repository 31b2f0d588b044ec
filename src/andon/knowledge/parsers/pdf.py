"""PDF with pypdf: the text layer page by page (each block keeps its page); pages without a text layer are
named, so a scanned document says so instead of coming back empty."""

from __future__ import annotations

import io
import logging

from andon.knowledge.document import Block, DocumentError, ParsedDocument, paragraph

VERSION = "1"
# pypdf logs each repair it makes on a broken file; the failure we report says enough.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def parse_pdf(data: bytes) -> ParsedDocument:
    """One paragraph per blank-line-separated run of each page's text."""
    import pypdf  # the `knowledge` extra

    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # an unsupported cipher, e.g. AES without cryptography installed
            raise DocumentError(f"the PDF is encrypted and cannot be opened ({exc})") from exc
        if not opened:
            raise DocumentError("the PDF is password-protected; save an unprotected copy")
    blocks: list[Block] = []
    empty: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        text = (page.extract_text() or "").strip()
        if not text:
            empty.append(number)
            continue
        for part in _parts(text):
            blocks.append(paragraph(part, page=number))
    notes = [f"pages without a text layer: {', '.join(map(str, empty))}"] if empty else []
    return ParsedDocument(
        "pdf",
        f"{VERSION}+pypdf-{pypdf.__version__}",
        blocks,
        pages=len(reader.pages),
        pages_without_text=empty,
        notes=notes,
    )


def _parts(text: str) -> list[str]:
    parts: list[str] = []
    buffer: list[str] = []
    for line in text.splitlines():
        if line.strip():
            buffer.append(line.strip())
        elif buffer:
            parts.append("\n".join(buffer))
            buffer = []
    if buffer:
        parts.append("\n".join(buffer))
    return parts
