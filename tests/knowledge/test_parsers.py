"""Each format on a small file made in tests/knowledge/makers.py: headings, tables, anchors, Korean text."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.knowledge.makers import HwpStyle, docx_bytes, hwp_bytes, hwp_section, hwpx_bytes, ole_bytes, pdf_bytes

from andon.knowledge.document import DocumentError
from andon.knowledge.parsers import parse_file
from andon.knowledge.parsers.encoding import decode
from andon.knowledge.parsers.hwp_styles import style_level

MARKDOWN = "# 제1장 총칙\n\n본문입니다.\n\n## 제1조 목적\n\n| 항목 | 값 |\n|---|---|\n| 환불 | 7일 |\n"


def kinds(path: str, data: bytes) -> list[tuple[str, str]]:
    return [(s.block.kind, s.block.text) for s in parse_file(Path(path), data).layout()[1]]


def test_markdown_headings_sections_tables_and_lines() -> None:
    document = parse_file(Path("a.md"), MARKDOWN.encode())
    markdown, spans = document.layout()
    assert [s.block.kind for s in spans] == ["heading", "paragraph", "heading", "table"]
    assert spans[3].section == ("제1장 총칙", "제1조 목적")
    assert spans[3].block.line == 7
    assert markdown[spans[1].start : spans[1].end] == "본문입니다."


@pytest.mark.parametrize("codec", ["cp949", "euc-kr", "utf-8"])
def test_korean_encodings_are_detected_and_recorded(codec: str) -> None:
    document = parse_file(Path("a.txt"), "환불은 7일 이내에 가능합니다.\n\n배송비는 고객 부담입니다.".encode(codec))
    assert document.encoding in {codec, "euc-kr" if codec == "cp949" else codec}
    assert document.markdown() == "환불은 7일 이내에 가능합니다.\n\n배송비는 고객 부담입니다."


def test_cp949_only_characters_are_not_mistaken_for_euc_kr() -> None:
    text, encoding = decode("똠방각하".encode("cp949"))  # 똠 is outside EUC-KR's 2,350 syllables
    assert (text, encoding) == ("똠방각하", "cp949")


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=50))
def test_utf8_text_always_round_trips(text: str) -> None:
    assert decode(text.encode("utf-8"))[0] == text


def test_html_keeps_main_content_and_drops_scripts_and_navigation() -> None:
    page = (
        "<html><head><title>도움말</title><script>track()</script><style>p{}</style></head><body>"
        "<nav><a>홈</a><a>메뉴</a></nav><header>로고</header><main><h1>환불</h1><p>7일 <b>이내</b> 가능</p>"
        "<h2>표</h2><table><tr><th>지역</th><th>기간</th></tr><tr><td>제주</td><td>4일</td></tr></table>"
        "<ul><li>영수증</li></ul></main><footer>회사 주소</footer></body></html>"
    )
    blocks = kinds("a.html", page.encode())
    assert blocks == [
        ("heading", "# 환불"),
        ("paragraph", "7일 이내 가능"),
        ("heading", "## 표"),
        ("table", "| 지역 | 기간 |\n|---|---|\n| 제주 | 4일 |"),
        ("list", "- 영수증"),
    ]


def test_html_declared_charset_is_used() -> None:
    page = '<html><head><meta charset="euc-kr"></head><body><p>배송 안내</p></body></html>'.encode("euc-kr")
    document = parse_file(Path("a.htm"), page)
    assert document.encoding == "euc-kr (declared)"
    assert "배송 안내" in document.markdown()


def test_csv_rows_become_records_with_their_row_numbers() -> None:
    data = '질문,답변\n환불 기간?,7일\n배송비?,"3,000원"\n'.encode("cp949")
    document = parse_file(Path("faq.csv"), data)
    assert [(b.text, b.line) for b in document.blocks] == [
        ("질문: 환불 기간?; 답변: 7일", 2),
        ("질문: 배송비?; 답변: 3,000원", 3),
    ]
    assert document.encoding in {"euc-kr", "cp949"}


def test_docx_headings_lists_and_tables() -> None:
    blocks = kinds("a.docx", docx_bytes())
    assert blocks == [
        ("heading", "# 환불 규정"),
        ("heading", "## 제1조 환불 기간"),
        ("paragraph", "구매 후 7일 이내에 환불할 수 있습니다."),
        ("list", "- 영수증을 지참하세요"),
        ("table", "| 항목 | 기간 |\n|---|---|\n| 의류 | 7일 |"),
    ]


def test_hwpx_outline_headings_runs_and_tables() -> None:
    document = parse_file(Path("a.hwpx"), hwpx_bytes())
    assert [(s.block.kind, s.block.text, s.section) for s in document.layout()[1]] == [
        ("heading", "# 제3장 배송", ("제3장 배송",)),
        ("paragraph", "배송은 2일 걸립니다.", ("제3장 배송",)),
        ("table", "| 지역 | 기간 |\n|---|---|\n| 제주 | 4일 |", ("제3장 배송",)),
    ]


def test_pdf_pages_are_anchored_and_pages_without_text_named() -> None:
    document = parse_file(Path("a.pdf"), pdf_bytes(["Refund policy", None, "Shipping takes 2 days"]))
    assert [(b.text, b.page) for b in document.blocks] == [("Refund policy", 1), ("Shipping takes 2 days", 3)]
    assert document.pages == 3
    assert document.pages_without_text == [2]


def test_pdf_with_no_text_layer_at_all_says_which_pages() -> None:
    with pytest.raises(DocumentError, match=r"pages without a text layer: 1, 2"):
        parse_file(Path("scan.pdf"), pdf_bytes([None, None]))


def test_pdf_with_a_password_is_reported() -> None:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_bytes(["secret"])))
    writer.encrypt(user_password="pw", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(DocumentError, match="password"):
        parse_file(Path("locked.pdf"), out.getvalue())


def test_xml_elements_become_sections_and_fields() -> None:
    data = "<faq><item id='1'><q>환불?</q><a>7일</a></item></faq>".encode()
    assert kinds("a.xml", data) == [
        ("heading", "# faq"),
        ("heading", "## item (id=1)"),
        ("paragraph", "q: 환불?"),
        ("paragraph", "a: 7일"),
    ]


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"\n \n", "empty"),
        ("broken.docx", b"PK\x03\x04 not really", "not a ZIP|BadZipFile"),
        ("renamed.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "password-protected"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj <<", "Error"),
        ("locked.hwpx", hwpx_bytes(encrypted=True), "password-protected"),
        ("broken.xml", b"<a><b></a>", "not well-formed"),
        ("bomb.xml", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "entities"),
        ("notes.rtf", b"{\\rtf1 x}", "no parser"),
    ],
)
def test_bad_files_say_why(name: str, data: bytes, why: str) -> None:
    with pytest.raises(DocumentError, match=why):
        parse_file(Path(name), data)


def test_hwp5_paragraphs_and_tables_from_the_records() -> None:
    data = hwp_bytes(["제12조 환불", "구매 후 7일 이내에 환불됩니다."], [["지역", "기간"], ["제주", "4일"]])
    assert kinds("규정집.hwp", data) == [
        ("paragraph", "제12조 환불"),
        ("paragraph", "구매 후 7일 이내에 환불됩니다."),
        ("table", "| 지역 | 기간 |\n|---|---|\n| 제주 | 4일 |"),
    ]
    assert kinds("plain.hwp", hwp_bytes(["압축 안 함"], flags=0)) == [("paragraph", "압축 안 함")]


# Hancom's default style list starts 바탕글, 본문, 개요 1, 개요 2, …; 차례 제목 is the table of contents' title.
STYLES = [
    HwpStyle("바탕글", "Normal"),
    HwpStyle("본문", "Body"),
    HwpStyle("개요 1", "Outline 1", outline=1),
    HwpStyle("개요 2", "Outline 2", outline=2),
    HwpStyle("차례 제목", "TOC Heading"),
    HwpStyle("조항", "Article", outline=3),  # a user's style: no heading name, but its shape is 개요 level 3
    HwpStyle("Heading 2", "Heading 2"),  # a heading by name only (an imported DOCX's style), no outline shape
]


@pytest.mark.parametrize("flags", [0, 1])
def test_hwp5_headings_come_from_docinfo_styles_and_outline_shapes(flags: int) -> None:
    data = hwp_bytes(
        [("규정집", 2), ("제3장 배송", 3), ("배송은 2일 걸립니다.", 1), ("제12조 기간", 5), "제주는 4일입니다.",
         ("차례", 4), ("부칙", 6), ("시행일은 공포일입니다.", 0)],
        [["지역", "기간"], ["제주", "4일"]],
        flags=flags,
        styles=STYLES,
    )  # fmt: skip
    document = parse_file(Path("규정집.hwp"), data)
    markdown, spans = document.layout()
    assert [(s.block.kind, s.block.text, s.section) for s in spans] == [
        ("heading", "# 규정집", ("규정집",)),
        ("heading", "## 제3장 배송", ("규정집", "제3장 배송")),
        ("paragraph", "배송은 2일 걸립니다.", ("규정집", "제3장 배송")),
        ("heading", "### 제12조 기간", ("규정집", "제3장 배송", "제12조 기간")),
        ("paragraph", "제주는 4일입니다.", ("규정집", "제3장 배송", "제12조 기간")),
        ("paragraph", "차례", ("규정집", "제3장 배송", "제12조 기간")),
        ("heading", "## 부칙", ("규정집", "부칙")),
        ("paragraph", "시행일은 공포일입니다.", ("규정집", "부칙")),
        ("table", "| 지역 | 기간 |\n|---|---|\n| 제주 | 4일 |", ("규정집", "부칙")),
    ]
    assert markdown.startswith("# 규정집\n\n## 제3장 배송\n\n배송은")
    assert document.structure()["sections"][-1] == ["규정집", "부칙"]
    assert "headings from DocInfo: 7 styles (개요 1, 개요 2, Heading 2), 3 outline paragraph shapes" in document.notes


def test_hwp5_table_cells_in_a_heading_style_stay_cells() -> None:
    # cells are paragraphs one list down (PARA_HEADER level 3): a cell never opens a section
    data = hwp_bytes([("제1장", 2)], [["개요", "값"], ["a", "b"]], styles=STYLES)
    assert kinds("x.hwp", data) == [("heading", "# 제1장"), ("table", "| 개요 | 값 |\n|---|---|\n| a | b |")]


def test_hwp5_without_docinfo_styles_parses_as_before() -> None:
    plain = parse_file(Path("x.hwp"), hwp_bytes([("제1장", 2), "본문"]))  # style ids with no DocInfo to name them
    assert [(s.block.kind, s.section) for s in plain.layout()[1]] == [("paragraph", ()), ("paragraph", ())]
    assert "no DocInfo stream: headings not read" in plain.notes
    empty = parse_file(Path("x.hwp"), hwp_bytes([("제1장", 2), "본문"], styles=[]))  # DocInfo without styles
    assert [s.block.kind for s in empty.layout()[1]] == ["paragraph", "paragraph"]


@given(st.binary(max_size=300), st.booleans())
def test_hwp5_a_damaged_docinfo_costs_headings_never_the_text(docinfo: bytes, compressed: bool) -> None:
    def pack(raw: bytes) -> bytes:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(raw) + packer.flush() if compressed else raw

    header = (
        b"HWP Document File".ljust(32, b"\0")
        + (0x05000300).to_bytes(4, "little")
        + int(compressed).to_bytes(4, "little")
    )
    data = ole_bytes({"FileHeader": header.ljust(256, b"\0"), "DocInfo": docinfo,  # raw bytes: a bad deflate stream too
                      "BodyText/Section0": pack(hwp_section([("제1장", 2), "본문"]))})  # fmt: skip
    assert [b.text.lstrip("# ") for b in parse_file(Path("x.hwp"), data).blocks] == ["제1장", "본문"]


@pytest.mark.parametrize(
    ("names", "level"),
    [(("개요 1", "Outline 1"), 1), (("개요 3", ""), 3), (("", "Heading 2"), 2), (("제목", "Title"), 1),
     (("차례 제목", "TOC Heading"), None), (("바탕글", "Normal"), None), (("개요 10", "Outline 10"), 10)],
)  # fmt: skip
def test_hwp_style_names_to_heading_levels(names: tuple[str, str], level: int | None) -> None:
    assert style_level(*names) == level


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (hwp_bytes(["비밀"], flags=0b11), "password-protected"),
        (hwp_bytes(["배포"], flags=0b101), "distribution"),
        (hwpx_bytes(), "not an OLE compound file"),
    ],
)
def test_hwp5_refusals_say_why(data: bytes, why: str) -> None:
    with pytest.raises(DocumentError, match=why):
        parse_file(Path("x.hwp"), data)
