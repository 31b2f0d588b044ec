"""HTML with the standard library's parser: main content only (``<main>``/``<article>`` when present),
headings, paragraphs, lists and tables; scripts, styles, navigation, headers, footers and forms dropped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from andon.knowledge.document import Block, ParsedDocument, heading, paragraph, table
from andon.knowledge.parsers.encoding import decode

VERSION = "1"
_SKIP = frozenset(
    {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "form", "svg", "button"}
)
_BLOCK = frozenset(
    {"p", "div", "section", "article", "main", "li", "pre", "blockquote", "dd", "dt", "br", "ul", "ol", "body"}
)
_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"})
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", re.I)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.main_blocks: list[Block] | None = None  # blocks inside <main>/<article>, when the page has one
        self._main_depth = 0
        self._skip = 0
        self._text: list[str] = []
        self._heading: int | None = None
        self._list_item = False
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._title: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        role = dict(attrs).get("role") or ""
        if self._skip or tag in _SKIP or role in {"navigation", "banner", "contentinfo"}:
            if tag not in _VOID:
                self._skip += 1
            return
        if tag == "title":
            self._in_title = True
        elif tag in {"main", "article"} or role == "main":
            self._flush()
            if self.main_blocks is None:
                self.main_blocks = []
            self._main_depth += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._flush()
            self._heading = int(tag[1])
        elif tag == "table":
            self._flush()
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in {"td", "th"} and self._rows is not None:
            self._cell = []
        elif tag in _BLOCK:
            self._flush()
            self._list_item = tag == "li"

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag not in _VOID:
                self._skip -= 1
            return
        if tag == "title":
            self._in_title = False
        elif self._heading is not None and tag == f"h{self._heading}":
            text = " ".join("".join(self._text).split())
            self._text = []
            if text:
                self._add(heading(text, self._heading))
            self._heading = None
        elif tag in {"td", "th"} and self._cell is not None and self._rows is not None:
            if not self._rows:
                self._rows.append([])
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            block = table(self._rows)
            self._rows = None
            if block is not None:
                self._add(block)
        elif tag in {"main", "article"} and self._main_depth:
            self._flush()
            self._main_depth -= 1
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self._title.append(data)
        elif self._cell is not None:
            self._cell.append(data)
        elif self._rows is None:
            self._text.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        self._text = []
        if text and self._heading is None:
            self._add(Block("list", f"- {text}") if self._list_item else paragraph(text))

    def _add(self, block: Block) -> None:
        self.blocks.append(block)
        if self._main_depth and self.main_blocks is not None:
            self.main_blocks.append(block)


def parse_html(data: bytes) -> ParsedDocument:
    """HTML → blocks; the declared ``<meta charset>`` is used when it decodes, else the detected encoding."""
    declared = _META_CHARSET.search(data[:4096])
    text, encoding = None, None
    if declared:
        name = declared.group(1).decode("ascii").lower()
        try:
            text, encoding = data.decode(name), f"{name} (declared)"
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        text, encoding = decode(data)
    collector = _Collector()
    collector.feed(text)
    collector.close()
    collector._flush()
    blocks = collector.main_blocks if collector.main_blocks else collector.blocks
    notes = []
    title = " ".join("".join(collector._title).split())
    if title and not any(b.kind == "heading" for b in blocks):
        blocks = [heading(title, 1), *blocks]
        notes.append("title used as the heading")
    return ParsedDocument("html", VERSION, blocks, encoding=encoding, notes=notes)
