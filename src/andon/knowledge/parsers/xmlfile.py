"""Generic XML: each element with direct text becomes a paragraph ``path: text``; elements that hold only
children are sections (their tag as a heading) down to the third level."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from andon.knowledge.document import Block, DocumentError, ParsedDocument, heading, paragraph

VERSION = "1"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes) -> ParsedDocument:
    """Element text in document order."""
    try:
        # The standard library's parser expands no external entities; a DOCTYPE bomb is refused below.
        if b"<!ENTITY" in data[:8192]:
            raise DocumentError("the XML declares entities (DOCTYPE); refused, as entity expansion can explode")
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DocumentError(f"not well-formed XML: {exc}") from exc
    blocks: list[Block] = []
    _walk(root, 1, blocks)
    return ParsedDocument("xml", VERSION, blocks, encoding="declared in the XML")


def _walk(element: ET.Element, depth: int, blocks: list[Block]) -> None:
    text = " ".join((element.text or "").split())
    attrs = " ".join(f"{_local(k)}={v}" for k, v in element.attrib.items())
    children = list(element)
    if children and not text and depth <= 3:
        title = _local(element.tag) + (f" ({attrs})" if attrs else "")
        blocks.append(heading(title, depth))
    elif text or attrs:
        blocks.append(paragraph(f"{_local(element.tag)}: {text}" + (f" [{attrs}]" if attrs else "")))
    for child in children:
        _walk(child, depth + 1, blocks)
        tail = " ".join((child.tail or "").split())
        if tail:
            blocks.append(paragraph(tail))
