"""``add_paths``: folders recursively, re-runs incremental by sha256, failures reported while the rest goes in."""

from __future__ import annotations

from pathlib import Path

from tests.knowledge.makers import docx_bytes, hwpx_bytes, pdf_bytes

from andon.knowledge.ingest import add_paths
from andon.store import Store


def corpus(root: Path) -> Path:
    folder = root / "help"
    (folder / "sub").mkdir(parents=True)
    (folder / "refund.md").write_text("# 환불\n\n## 기간\n\n구매 후 7일 이내에 환불됩니다.\n", encoding="utf-8")
    (folder / "faq.csv").write_bytes("질문,답변\n배송비?,3000원\n".encode("cp949"))
    (folder / "sub" / "policy.docx").write_bytes(docx_bytes())
    (folder / "sub" / "ship.hwpx").write_bytes(hwpx_bytes())
    (folder / "manual.pdf").write_bytes(pdf_bytes(["Refund policy", None]))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.png").write_bytes(b"\x89PNG")  # no parser: skipped inside a folder
    (folder / ".hidden.md").write_text("# secret", encoding="utf-8")
    return folder


def test_a_folder_goes_in_and_failures_are_named(store: Store, tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    report = add_paths(store, "help", [folder])
    assert sorted(report.added) == [
        "help/faq.csv", "help/manual.pdf", "help/refund.md", "help/sub/policy.docx", "help/sub/ship.hwpx",
    ]  # fmt: skip
    failed = {Path(p).name: why for p, why in report.failed}
    assert set(failed) == {"broken.pdf", "empty.txt"}
    assert "empty" in failed["empty.txt"]
    assert ("help/manual.pdf", "pages without a text layer: 2") in report.notes
    documents = {d.source_path: d for d in store.knowledge_documents("help")}
    assert documents["help/faq.csv"].encoding in {"euc-kr", "cp949"}
    assert documents["help/sub/ship.hwpx"].parser == "hwpx"
    assert documents["help/sub/ship.hwpx"].structure["tables"] == [[["지역", "기간"], ["제주", "4일"]]]
    chunks = store.knowledge_chunks("help")
    assert report.chunks == len(chunks) >= 5
    refund = next(c for c in chunks if c.source_path == "help/refund.md")
    assert refund.section == ["환불"] and refund.anchors["lines"] == [1, 5]
    pdf = next(c for c in chunks if c.source_path == "help/manual.pdf")
    assert pdf.anchors == {"pages": [1]}


def test_re_adding_is_incremental_and_a_changed_file_is_replaced(store: Store, tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    first = add_paths(store, "help", [folder])
    again = add_paths(store, "help", [folder])
    assert again.added == [] and len(again.unchanged) == 5
    assert again.content_hash == first.content_hash
    (folder / "refund.md").write_text("# 환불\n\n14일 이내로 바뀌었습니다.\n", encoding="utf-8")
    changed = add_paths(store, "help", [folder])
    assert changed.added == ["help/refund.md"]
    assert changed.content_hash != first.content_hash
    texts = [c.text for c in store.knowledge_chunks("help") if c.source_path == "help/refund.md"]
    assert any("14일" in t for t in texts) and not any("7일 이내에 환불됩니다" in t for t in texts)


def test_a_new_chunker_rechunks_every_document_and_changes_the_hash(store: Store, tmp_path: Path) -> None:
    folder = corpus(tmp_path)
    first = add_paths(store, "help", [folder])
    smaller = add_paths(store, "help", [], chunker={"name": "fixed", "size": 20, "overlap": 5})
    assert smaller.rechunked == 5 and smaller.content_hash != first.content_hash
    assert all(len(c.text) <= 20 for c in store.knowledge_chunks("help"))
    assert smaller.chunks > first.chunks


def test_a_missing_path_is_reported(store: Store, tmp_path: Path) -> None:
    report = add_paths(store, "help", [tmp_path / "nope"])
    assert report.failed == [(str(tmp_path / "nope"), "no such file or folder")]
