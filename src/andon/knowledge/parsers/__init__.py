"""Parsers by file suffix: each turns a file's bytes into a :class:`~andon.knowledge.document.ParsedDocument`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from andon.knowledge.document import DocumentError, ParsedDocument

Parser = Callable[[bytes], ParsedDocument]

# suffix → "module:function" (imported on use: a PDF library loads only when a PDF is added)
PARSERS: dict[str, str] = {
    ".txt": "andon.knowledge.parsers.text:parse_text",
    ".text": "andon.knowledge.parsers.text:parse_text",
    ".md": "andon.knowledge.parsers.text:parse_markdown",
    ".markdown": "andon.knowledge.parsers.text:parse_markdown",
    ".html": "andon.knowledge.parsers.html:parse_html",
    ".htm": "andon.knowledge.parsers.html:parse_html",
    ".csv": "andon.knowledge.parsers.csvfile:parse_csv",
    ".tsv": "andon.knowledge.parsers.csvfile:parse_tsv",
    ".docx": "andon.knowledge.parsers.docx:parse_docx",
    ".hwpx": "andon.knowledge.parsers.hwpx:parse_hwpx",
    ".pdf": "andon.knowledge.parsers.pdf:parse_pdf",
    ".hwp": "andon.knowledge.parsers.hwp:parse_hwp",
    ".xml": "andon.knowledge.parsers.xmlfile:parse_xml",
}


def supported(path: Path) -> bool:
    """Whether a parser exists for ``path``'s suffix."""
    return path.suffix.lower() in PARSERS


def parse_file(path: Path, data: bytes) -> ParsedDocument:
    """Parse ``data`` (the bytes of ``path``) with the parser of its suffix; DocumentError says why it failed."""
    import importlib

    target = PARSERS.get(path.suffix.lower())
    if target is None:
        raise DocumentError(f"no parser for {path.suffix or 'files without a suffix'}")
    if not data.strip():
        raise DocumentError("the file is empty")
    module, _, name = target.partition(":")
    parser: Parser = getattr(importlib.import_module(module), name)
    try:
        document = parser(data)
    except DocumentError:
        raise
    except Exception as exc:  # a broken file can make any library raise anything; report it, go on
        raise DocumentError(f"{type(exc).__name__}: {exc}") from exc
    if not any(b.text.strip() for b in document.blocks):
        raise DocumentError("no text found in the file" + _pages_note(document))
    return document


def _pages_note(document: ParsedDocument) -> str:
    if document.pages_without_text:
        return (
            f" (pages without a text layer: {', '.join(map(str, document.pages_without_text))}; scanned? run OCR first)"
        )
    return ""
