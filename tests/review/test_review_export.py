"""Decisions exported to datasets in every format andon reads: YAML (comments kept), JSONL and CSV, once each."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.review_fixtures import REVIEWS_YAML, sentiment_item, write_sentiment_workspace

from andon.errors import AndonError, ConfigError
from andon.evals.dataset import FILE_SUFFIXES, load_dataset
from andon.review import queue
from andon.review.casefile import CaseFile
from andon.review.export import export_decisions
from andon.review.queue import ReviewItem
from andon.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    with Workspace.open(write_sentiment_workspace(tmp_path), database_url=database_url) as opened:
        # The admin's grant, as `andon data-use allow-cases` records it.
        opened.store.record_feature_event("sentiment", "cases_allowed", {"cases_allowed": True}, "admin", "consented")
        yield opened


def decided(ws: Workspace, n: int, label: str = "negative", **fields: Any) -> ReviewItem:
    queued = sentiment_item(n, **fields)
    ws.store.add_review_item(queued)
    return queue.decide(ws.store, queued.id, decision=None, label=label, comment=f"why {n}", actor="jieun")


def test_export_appends_to_the_features_own_yaml_keeping_its_comments(ws: Workspace) -> None:
    path = ws.root / "data" / "reviews.yaml"
    first, second = decided(ws, 1), decided(ws, 2, "positive", input={"text": "가격 $5, ${HOME} 아님"})
    result = export_decisions(ws.store, ws.root, "sentiment", path)
    assert result.written == [first.id, second.id] and not result.refused
    text = path.read_text(encoding="utf-8")
    assert text.startswith(REVIEWS_YAML)  # every byte that was there, comments included, is still there
    cases = load_dataset(path, ws.root).cases
    assert [c.id for c in cases] == ["r1", "r2", "r3", first.id, second.id]
    assert cases[3].label == "negative" and cases[3].vars == first.input and cases[3].reason == "why 1"
    assert cases[4].vars == {"text": "가격 $5, ${HOME} 아님"}  # `$` is escaped: the loader reads it back as written
    assert cases[4].tags == ("from-review", "low_confidence")

    again = export_decisions(ws.store, ws.root, "sentiment", path)
    assert again.written == [] and path.read_text(encoding="utf-8") == text  # no duplicates
    third = decided(ws, 3)
    export_decisions(ws.store, ws.root, "sentiment", path)
    assert [c.id for c in load_dataset(path, ws.root).cases][-2:] == [second.id, third.id]


@pytest.mark.parametrize(
    "original",
    [
        "# the mapping form, indented\ncases:\n  - id: r1  # first\n    vars: {text: a}\n    label: positive\n",
        "cases:\n- id: r1\n  vars: {text: a}\n  label: positive\n# a comment at the end\n",
        "cases: []  # filled by reviews\n",
        "cases: [{id: r1, vars: {text: a}, label: positive}]\n",
        "# cases first\ncases:\n  - id: r1\n    vars: {text: a}\n    label: positive\nnotes: kept  # other keys\n",
        "",
    ],
    ids=["indented", "trailing-comment", "empty-flow", "flow", "not-last", "empty-file"],
)
def test_export_to_yaml_of_any_shape_keeps_what_was_there(ws: Workspace, original: str) -> None:
    path = ws.root / "data" / "more.yaml"
    path.write_text(original, encoding="utf-8")
    before = load_dataset(path, ws.root).cases if original.strip() and "r1" in original else []
    first = decided(ws, 1)
    assert export_decisions(ws.store, ws.root, "sentiment", path).written == [first.id]
    text = path.read_text(encoding="utf-8")
    for line in original.splitlines():
        if "#" in line:
            assert line[line.index("#") :] in text  # every comment survives
    cases = load_dataset(path, ws.root).cases
    assert [c.id for c in cases] == [c.id for c in before] + [first.id]
    assert cases[-1].vars == first.input and cases[-1].label == "negative"
    if "notes: kept" in original:
        assert "notes: kept" in text


def test_export_to_jsonl_and_a_new_file(ws: Workspace) -> None:
    path = ws.root / "data" / "from_review.jsonl"
    path.write_text('{"id": "old", "vars": {"text": "x"}, "label": "positive"}', encoding="utf-8")  # no newline
    first = decided(ws, 1)
    export_decisions(ws.store, ws.root, "sentiment", path)
    assert path.read_text(encoding="utf-8").startswith('{"id": "old", "vars": {"text": "x"}, "label": "positive"}\n')
    assert [c.id for c in load_dataset(path, ws.root).cases] == ["old", first.id]
    fresh = ws.root / "data" / "fresh.yaml"
    second = decided(ws, 2)
    export_decisions(ws.store, ws.root, "sentiment", fresh)
    assert [c.id for c in load_dataset(fresh, ws.root).cases] == [second.id]


def test_export_to_csv_appends_rows_and_adds_columns(ws: Workspace) -> None:
    path = ws.root / "data" / "cases.csv"
    original = 'id,text,label\r\nc1,"맛있어요, 또 시킬게요",positive\r\n'
    path.write_text(original, encoding="utf-8", newline="")
    (old,) = load_dataset(path, ws.root).cases
    first = decided(ws, 1, input={"text": '줄\n바꿈, 쉼표 "따옴표"'})
    result = export_decisions(ws.store, ws.root, "sentiment", path)
    assert result.written == [first.id]
    assert path.read_bytes().decode().startswith("id,text,label,tags,reason\r\n")  # columns it needed, CRLF kept
    cases = load_dataset(path, ws.root).cases
    assert (cases[0].id, cases[0].vars, cases[0].label, cases[0].tags) == (old.id, old.vars, old.label, old.tags)
    assert [c.id for c in cases] == ["c1", first.id]
    assert cases[1].vars == first.input and cases[1].label == "negative" and cases[1].reason == "why 1"
    assert cases[1].tags == ("from-review", "low_confidence")

    second = decided(ws, 2, input={"text": "사진", "photo_note": "흐림"})  # a variable the file has no column for
    third = decided(ws, 3, input={"text": "수량", "count": 3})  # CSV holds text only: 3 would come back as "3"
    result = export_decisions(ws.store, ws.root, "sentiment", path)
    assert result.written == [second.id]
    assert [i for i, _ in result.refused] == [third.id] and "vars.count" in result.refused[0][1]
    assert ".jsonl" in result.refused[0][1]
    cases = load_dataset(path, ws.root).cases
    assert [c.id for c in cases] == ["c1", first.id, second.id]
    assert cases[0].vars == {"text": "맛있어요, 또 시킬게요", "photo_note": ""}  # the new column, empty for old rows
    assert cases[2].vars == {"text": "사진", "photo_note": "흐림"}
    assert queue.get(ws.store, third.id).exported_at is None


def test_an_id_taken_by_a_different_case_is_refused(ws: Workspace) -> None:
    first = decided(ws, 1)
    path = ws.root / "data" / "reviews.yaml"
    clash = f"- id: {first.id}\n  vars: {{text: someone else's case}}\n  label: positive\n"
    path.write_text(REVIEWS_YAML + clash, encoding="utf-8")
    result = export_decisions(ws.store, ws.root, "sentiment", path)
    assert result.written == [] and result.already_there == []
    ((refused_id, why),) = result.refused
    assert refused_id == first.id and f"{path}:12" in why and "different" in why
    assert path.read_text(encoding="utf-8") == REVIEWS_YAML + clash
    assert queue.get(ws.store, first.id).exported_at is None


def test_a_failed_write_loses_nothing(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ws.root / "data" / "reviews.yaml"
    first = decided(ws, 1)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(AndonError, match="No space left") as failed:
        export_decisions(ws.store, ws.root, "sentiment", path)
    monkeypatch.undo()
    assert str(path) in (failed.value.where or "")
    assert path.read_text(encoding="utf-8") == REVIEWS_YAML
    assert sorted(p.name for p in path.parent.iterdir()) == ["reviews.yaml"]  # no temporary file left behind
    assert queue.get(ws.store, first.id).exported_at is None
    assert export_decisions(ws.store, ws.root, "sentiment", path).written == [first.id]  # and it works next time


def test_export_refuses_unknown_formats_and_broken_files(ws: Workspace) -> None:
    decided(ws, 1)
    with pytest.raises(ConfigError, match=r"\.txt") as unknown:
        export_decisions(ws.store, ws.root, "sentiment", ws.root / "cases.txt")
    assert ".yaml" in str(unknown.value) and ".csv" in str(unknown.value) and unknown.value.hint
    broken = ws.root / "data" / "broken.yaml"
    broken.write_text("- id: a\n  vars: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML") as bad:
        export_decisions(ws.store, ws.root, "sentiment", broken)
    assert str(broken) in (bad.value.where or "")
    assert broken.read_text(encoding="utf-8") == "- id: a\n  vars: [unclosed\n"


# Property: whatever text a reviewed input holds, every format gives it back exactly, or refuses it -----------

# Any text but NUL (no store keeps it); names may look like case fields ("id", "human.x"): CSV must cope.
characters = st.characters(codec="utf-8", exclude_characters="\x00")
names = st.one_of(
    st.sampled_from(["id", "label", "tags", "vars.x", "human.x", "text"]), st.text(characters, min_size=1, max_size=8)
)
texts = st.text(characters, max_size=40).filter(lambda v: not v.lower().endswith(FILE_SUFFIXES))  # not read as files


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    variables=st.dictionaries(names, texts, min_size=1, max_size=3),
    label=texts,
    suffix=st.sampled_from([".yaml", ".jsonl", ".csv"]),
)
def test_every_format_reads_back_what_was_appended(
    tmp_path: Path, variables: dict[str, str], label: str, suffix: str
) -> None:
    path = tmp_path / f"prop{suffix}"
    path.unlink(missing_ok=True)
    case: dict[str, Any] = {"id": "rev_1", "vars": variables, "label": label.strip() or "x", "tags": ["from-review"]}
    file = CaseFile.open(path)
    why = file.unfit(case)
    if suffix != ".csv":
        assert why is None  # YAML and JSON Lines hold any JSON
    if why is not None:
        return
    file.append([case])
    (loaded,) = load_dataset(path, tmp_path).cases
    assert (loaded.id, loaded.vars, loaded.label, loaded.tags) == ("rev_1", variables, case["label"], ("from-review",))
    assert json.loads(json.dumps(loaded.vars)) == variables
