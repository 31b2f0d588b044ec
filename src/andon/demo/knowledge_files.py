"""The ``cs-chatbot`` demo's help centre as files in the formats teams really have: each article of
:mod:`andon.demo.knowledge_corpus` written as HWPX, DOCX, PDF, HTML or HWP, so ingestion is part of the demo.

HWPX is an OWPML ZIP written here; DOCX comes from python-docx; the PDF is written here with a text layer in
a non-embedded Adobe-Korea1 CID font (``HYSMyeongJo-Medium``, UniKS-UCS2-H) plus a ToUnicode map, so pypdf
reads the Korean back and a viewer draws it with its Korean fallback font; the HWP file is a shipped fixture
(``helpcentre/README.md`` says what made it).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from andon.demo.knowledge_corpus import ARTICLES

FIXTURES = Path(__file__).resolve().parent / "helpcentre"
"""Files the demo ships instead of writing (the HWP 5 article) and their README."""

# article (as named in the corpus) → the file the demo writes for it
FORMATS: dict[str, str] = {
    "trade.md": "trade.hwpx",
    "account.md": "account.docx",
    "pay.md": "pay.pdf",
    "delivery.md": "delivery.html",
    "refund.md": "refund.hwp",
    "neighborhood.md": "neighborhood.hwpx",
    "chat.md": "chat.html",
    "business.md": "business.pdf",
}

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HH = "http://www.hancom.co.kr/hwpml/2011/head"
HS = "http://www.hancom.co.kr/hwpml/2011/section"


def file_for(article: str) -> str:
    """The file name the demo gives ``article`` (``refund.md`` → ``refund.hwp``)."""
    return FORMATS[article]


def _outline(article: str) -> tuple[str, list[tuple[str, str]]]:
    """``(title, [(section heading, section text)])`` of one article."""
    title, sections = ARTICLES[article]
    return title, [(heading, " ".join(sentences)) for heading, sentences, _, _ in sections]


def hwpx_bytes(article: str) -> bytes:
    """The article as an HWPX: title in style 개요 1, section headings in 개요 2, text in 바탕글."""
    title, sections = _outline(article)
    header = (
        f'<?xml version="1.0" encoding="UTF-8"?><hh:head xmlns:hh="{HH}" version="1.4" secCnt="1">'
        "<hh:refList><hh:styles>"
        '<hh:style id="0" type="PARA" name="바탕글" engName="Normal"/>'
        '<hh:style id="2" type="PARA" name="개요 1" engName="Outline 1"/>'
        '<hh:style id="3" type="PARA" name="개요 2" engName="Outline 2"/>'
        "</hh:styles></hh:refList></hh:head>"
    )

    def para(text: str, style: int) -> str:
        return f'<hp:p styleIDRef="{style}"><hp:run><hp:t>{escape(text)}</hp:t></hp:run></hp:p>'

    body = [para(title, 2)]
    for heading, text in sections:
        body += [para(heading, 3), para(text, 0)]
    section = f'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="{HS}" xmlns:hp="{HP}">{"".join(body)}</hs:sec>'
    manifest = '<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'
    container = (
        '<ocf:container xmlns:ocf="urn:oasis:names:tc:opendocument:xmlns:container"><ocf:rootfiles>'
        '<ocf:rootfile full-path="Contents/content.hpf" media-type="application/hwpml-package+xml"/>'
        "</ocf:rootfiles></ocf:container>"
    )
    package = (
        '<opf:package xmlns:opf="http://www.idpf.org/2007/opf/"><opf:manifest>'
        '<opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>'
        '<opf:item id="section0" href="Contents/section0.xml" media-type="application/xml"/>'
        '</opf:manifest><opf:spine><opf:itemref idref="header" linear="no"/><opf:itemref idref="section0"/>'
        "</opf:spine></opf:package>"
    )
    out = io.BytesIO()
    # Fixed timestamps: the same corpus gives the same bytes.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (
            ("mimetype", "application/hwp+zip"),
            ("META-INF/container.xml", container),
            ("META-INF/manifest.xml", manifest),
            ("Contents/content.hpf", package),
            ("Contents/header.xml", header),
            ("Contents/section0.xml", section),
        ):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            # OWPML, like ODF, wants the mimetype first and stored, so a reader can sniff it at a fixed offset.
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return out.getvalue()


def docx_bytes(article: str) -> bytes:
    """The article as a DOCX (python-docx): title as Heading 1, sections as Heading 2 with their text."""
    import docx  # python-docx, the `knowledge` extra

    title, sections = _outline(article)
    document = docx.Document()
    document.add_heading(title, level=1)
    for heading, text in sections:
        document.add_heading(heading, level=2)
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def html_bytes(article: str) -> bytes:
    """The article as a help-centre web page: navigation, a search form and a footer around ``<main>``."""
    title, sections = _outline(article)
    parts = [
        '<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8">',
        f"<title>{escape(title)} | 고객센터</title><script>window.analytics = [];</script></head><body>",
        '<header><nav><a href="/">고객센터 홈</a> <a href="/notice">공지사항</a></nav>',
        '<form action="/search"><input name="q" placeholder="무엇이든 찾아보세요"></form></header>',
        f"<main><article><h1>{escape(title)}</h1>",
    ]
    for heading, text in sections:
        parts.append(f"<section><h2>{escape(heading)}</h2><p>{escape(text)}</p></section>")
    parts.append("</article></main><footer>이 도움말이 도움이 되었나요? 예 · 아니요</footer></body></html>\n")
    return "".join(parts).encode("utf-8")


def hwp_paragraphs(article: str) -> list[tuple[str, int]]:
    """The article's paragraphs as the HWP fixture holds them, with their style ids in Hancom's default list:
    the title in 개요 1 (2), each section's heading in 개요 2 (3) and its text in 바탕글 (0)."""
    title, sections = _outline(article)
    return [(title, 2), *(p for heading, text in sections for p in ((heading, 3), (text, 0)))]


def hwp_fixture(article: str) -> Path:
    """The shipped HWP 5 file of ``article`` (made as ``helpcentre/README.md`` says)."""
    return FIXTURES / file_for(article)


# --- PDF -------------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 595, 842, 56  # A4 in points
LINE_CHARS = 38  # a Hangul glyph is 1 em wide: 38 × 11 pt fits between the margins with room to spare


def _wrap(text: str, width: int = LINE_CHARS) -> list[str]:
    """Lines of at most ``width`` characters, broken at spaces only (a Korean word is never cut)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def _ucs2(text: str) -> str:
    """``text`` as a PDF hex string of UCS-2 code units (the encoding UniKS-UCS2-H expects)."""
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def _to_unicode() -> bytes:
    """A ToUnicode CMap mapping every 2-byte code to the same UCS-2 value (one range per high byte, the
    surrogates left out), so text extraction needs no knowledge of the Adobe-Korea1 CMap."""
    ranges = [f"<{h:02X}00> <{h:02X}FF> <{h:02X}00>" for h in range(256) if not 0xD8 <= h <= 0xDF]
    # a bfrange block holds at most 100 entries
    blocks = "".join(
        f"{len(ranges[i : i + 100])} beginbfrange\n" + "\n".join(ranges[i : i + 100]) + "\nendbfrange\n"
        for i in range(0, len(ranges), 100)
    )
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{blocks}endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode("ascii")


def pdf_pages(article: str) -> list[list[tuple[int, str]]]:
    """Each page's lines as ``(font size, text)``: the title and first section on page 1, one section a page."""
    title, sections = _outline(article)
    pages: list[list[tuple[int, str]]] = []
    for n, (heading, text) in enumerate(sections):
        lines = [(16, title)] if n == 0 else []
        lines.append((13, heading))
        lines += [(11, line) for line in _wrap(text)]
        pages.append(lines)
    return pages


def pdf_bytes(pages: Sequence[Sequence[tuple[int, str]]]) -> bytes:
    """A PDF of ``pages`` (lines of ``(size, text)``), Korean text in a text layer a reader can extract."""
    objects: dict[int, bytes] = {}
    count = len(pages)
    font, descendant, descriptor, cmap = 3 + 2 * count, 4 + 2 * count, 5 + 2 * count, 6 + 2 * count
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode()
    for i, lines in enumerate(pages):
        ops = ["BT"]
        y = PAGE_HEIGHT - MARGIN
        for size, text in lines:
            y -= round(size * 1.6)
            ops.append(f"/F1 {size} Tf 1 0 0 1 {MARGIN} {y} Tm {_ucs2(text)} Tj")
        ops.append("ET")
        stream = "\n".join(ops).encode("ascii")
        objects[3 + 2 * i] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>"
        ).encode()
        objects[4 + 2 * i] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    objects[font] = (
        f"<< /Type /Font /Subtype /Type0 /BaseFont /HYSMyeongJo-Medium /Encoding /UniKS-UCS2-H "
        f"/DescendantFonts [{descendant} 0 R] /ToUnicode {cmap} 0 R >>"
    ).encode()
    objects[descendant] = (
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HYSMyeongJo-Medium "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Korea1) /Supplement 1 >> "
        f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [1 95 500] >>"
    ).encode()
    objects[descriptor] = (
        b"<< /Type /FontDescriptor /FontName /HYSMyeongJo-Medium /Flags 6 /FontBBox [0 -148 1001 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 60 >>"
    )
    unicode_map = _to_unicode()
    objects[cmap] = b"<< /Length %d >>\nstream\n" % len(unicode_map) + unicode_map + b"\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number in range(1, len(objects) + 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def article_bytes(article: str) -> bytes:
    """The bytes of ``article``'s file, in the format :data:`FORMATS` gives it."""
    suffix = Path(file_for(article)).suffix
    if suffix == ".hwpx":
        return hwpx_bytes(article)
    if suffix == ".docx":
        return docx_bytes(article)
    if suffix == ".pdf":
        return pdf_bytes(pdf_pages(article))
    if suffix == ".html":
        return html_bytes(article)
    return hwp_fixture(article).read_bytes()


def write_corpus(folder: Path) -> list[Path]:
    """Write every article's file into ``folder``; a file already there is kept (an edit to it is the user's
    experiment, and the next ``andon demo`` ingests it); the paths, in corpus order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for article in ARTICLES:
        path = folder / file_for(article)
        if not path.is_file():
            path.write_bytes(article_bytes(article))
        paths.append(path)
    return paths
