"""Links between work and key results on real SQLite and PostgreSQL: by hand, by label and keyword rules (made
again, they add what matches and drop what no longer does), rule files with line-numbered errors, both reports."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from andon.config.problems import InvalidConfig
from andon.errors import NotFoundError
from andon.okr.work import LinkRule, apply_rules, import_work, key_results_without_work, link, load_rules, unlink, work
from andon.okr.work.csvfile import CsvImporter, CsvSettings
from andon.okr.work.links import find_work_item
from andon.store import Store
from andon.store.okr import KeyResult, Objective, Period, Team, WorkItem


def seed(store: Store) -> dict[str, KeyResult]:
    store.upsert_team(Team(id="menu-ai", name="Menu AI"))
    store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31)))
    store.upsert_period(Period(id="2027Q1", starts=date(2027, 1, 1), ends=date(2027, 3, 31)))
    store.add_objective(
        Objective(title="Review menus by themselves", owner="jiwoo", team="menu-ai", period="2026Q4", key="menu-auto")
    )
    store.add_objective(
        Objective(title="Next quarter", owner="jiwoo", team="menu-ai", period="2027Q1", key="menu-next")
    )
    krs = {}
    for n, objective in ((1, "menu-auto"), (2, "menu-auto"), (3, "menu-auto"), (4, "menu-next")):
        period = "2026Q4" if objective == "menu-auto" else "2027Q1"
        krs[n] = store.add_key_result(KeyResult(objective=objective, title=f"key result {n}", owner="minsu",
                                                start=0, target=10, key=f"KR-{period}-{n}"))  # fmt: skip
    return krs


def items() -> list[WorkItem]:
    return [
        WorkItem(source="jira", external_id="MENU-1", title="Auto-approve clear dishes", labels=("KR-2026Q4-1", "okr")),
        WorkItem(source="jira", external_id="MENU-2", title="Phone numbers in photos", labels=("kr-2026q4-1",)),
        WorkItem(source="jira", external_id="MENU-3", title="Reviewer queue shows the reason", labels=("KR-2026Q4-2",)),
        WorkItem(source="jira", external_id="MENU-7", title="Sold-out items", labels=("KR-2026Q4-9",)),
        WorkItem(source="github", external_id="acme/menu-app#6", title="Crash on missing EXIF", labels=("bug",)),
        WorkItem(source="github", external_id="acme/menu-app#7", title="Speed up the review queue", labels=()),
    ]


def pairs(store: Store) -> set[tuple[str, str, str, str | None]]:
    """Every link as (external id, key-result key, kind, rule)."""
    by_id = {i.id: i.external_id for i in store.work_items()}
    keys = {k.id: k.key or "" for k in store.key_results()}
    return {(by_id[x.work_item], keys[x.key_result], x.kind, x.rule) for x in store.work_links()}


def test_label_and_keyword_rules_link_and_a_label_naming_no_kr_is_reported(store: Store) -> None:
    seed(store)
    store.upsert_work_items(items())
    rules = [LinkRule(label="KR-2026Q4-*", kind="measures"), LinkRule(keyword="REVIEW QUEUE", key_result="KR-2026Q4-2")]

    report = apply_rules(store, rules)

    assert pairs(store) == {
        ("MENU-1", "KR-2026Q4-1", "measures", "label:KR-2026Q4-*"),
        ("MENU-3", "KR-2026Q4-2", "measures", "label:KR-2026Q4-*"),
        ("acme/menu-app#7", "KR-2026Q4-2", "contributes", "keyword:REVIEW QUEUE->KR-2026Q4-2"),
    }
    assert len(report.made) == 3 and report.removed == []
    # "kr-2026q4-1" matches the glob (labels compare in any case) but the store's keys are exact.
    assert report.unresolved == {"KR-2026Q4-9": ["MENU-7"], "kr-2026q4-1": ["MENU-2"]}
    again = apply_rules(store, rules)
    assert again.made == [] and again.removed == [] and len(store.work_links()) == 3


def test_a_rule_named_target_and_a_source_filter(store: Store) -> None:
    seed(store)
    store.upsert_work_items(items())
    apply_rules(
        store,
        [
            LinkRule(label="bug", key_result="KR-2026Q4-3", source="github"),
            LinkRule(label="okr", key_result="KR-2026Q4-3", source="github"),
        ],
    )
    assert pairs(store) == {("acme/menu-app#6", "KR-2026Q4-3", "contributes", "label:bug->KR-2026Q4-3")}
    with pytest.raises(NotFoundError) as typo:
        apply_rules(store, [LinkRule(keyword="photo", key_result="KR-2026Q4-33")])
    assert typo.value.where == "rule keyword:photo->KR-2026Q4-33" and "KR-2026Q4-33" in typo.value.message


def test_a_label_names_a_key_result_by_its_key_never_by_an_id_prefix(store: Store) -> None:
    krs = seed(store)
    prefix = krs[1].id[:12]
    store.upsert_work_items([WorkItem(source="jira", external_id="MENU-1", title="x", labels=(prefix, krs[2].id))])
    report = apply_rules(store, [LinkRule(label="kr_*", kind="measures")])
    assert report.unresolved == {prefix: ["MENU-1"]}
    assert [(x.key_result, x.kind) for x in store.work_links()] == [(krs[2].id, "measures")]  # a whole id is fine


def test_reapplying_drops_rule_links_that_no_longer_match_but_never_hand_made_ones(store: Store) -> None:
    seed(store)
    store.upsert_work_items(items())
    rules = [LinkRule(label="KR-2026Q4-*", kind="measures")]
    apply_rules(store, rules)
    link(store, "MENU-3", "KR-2026Q4-3", "contributes")  # by hand

    moved = dataclasses.replace(items()[2], labels=())  # the label came off MENU-3 in Jira
    store.upsert_work_items([moved])
    report = apply_rules(store, rules)

    assert [(x.rule, x.kind) for x in report.removed] == [("label:KR-2026Q4-*", "measures")]
    assert pairs(store) == {
        ("MENU-1", "KR-2026Q4-1", "measures", "label:KR-2026Q4-*"),
        ("MENU-3", "KR-2026Q4-3", "contributes", None),
    }


def test_linking_by_hand_finds_work_by_id_source_and_external_id(store: Store) -> None:
    krs = seed(store)
    store.upsert_work_items([*items(), WorkItem(source="csv", external_id="MENU-1", title="a spreadsheet row")])
    menu3 = store.work_item("jira", "MENU-3")
    assert menu3 is not None

    assert find_work_item(store, menu3.id) == menu3
    assert find_work_item(store, "jira:MENU-3") == menu3 == find_work_item(store, "MENU-3")
    with pytest.raises(NotFoundError) as ambiguous:
        find_work_item(store, "MENU-1")
    assert "csv:MENU-1" in ambiguous.value.message and "jira:MENU-1" in ambiguous.value.message
    with pytest.raises(NotFoundError):
        find_work_item(store, "MENU-404")

    item, kr, made = link(store, "jira:MENU-1", "KR-2026Q4-2", "measures")
    assert made and kr == krs[2] and item.external_id == "MENU-1"
    assert link(store, "jira:MENU-1", krs[2].id, "measures")[2] is False  # already there
    with pytest.raises(NotFoundError):
        link(store, "MENU-3", "KR-nope")
    assert unlink(store, "jira:MENU-1", "KR-2026Q4-2")[2] is True
    assert unlink(store, "jira:MENU-1", "KR-2026Q4-2")[2] is False
    assert store.work_links() == []


def test_reports_work_with_no_kr_and_krs_with_no_work(store: Store) -> None:
    krs = seed(store)
    store.upsert_work_items(items())
    apply_rules(store, [LinkRule(label="KR-2026Q4-*", kind="measures")])

    unlinked = [r.item.external_id for r in work(store, unlinked=True)]
    assert unlinked == ["acme/menu-app#6", "acme/menu-app#7", "MENU-2", "MENU-7"]
    assert [r.item.external_id for r in work(store, key_result="KR-2026Q4-1")] == ["MENU-1"]
    everything = work(store, source="jira")
    assert [r.item.external_id for r in everything] == ["MENU-1", "MENU-2", "MENU-3", "MENU-7"]
    assert [len(r.links) for r in everything] == [1, 0, 1, 0]

    assert [k.key for k in key_results_without_work(store)] == ["KR-2026Q4-3", "KR-2027Q1-4"]
    assert key_results_without_work(store, period="2026Q4") == [krs[3]]
    link(store, "MENU-7", "KR-2026Q4-3")
    assert key_results_without_work(store, period="2026Q4") == []


def test_rules_from_yaml_and_errors_that_name_the_line(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text(
        "rules:\n  - label: 'KR-2026Q4-*'\n    kind: measures\n  - keyword: photo\n    key_result: KR-2026Q4-1\n",
        encoding="utf-8",
    )
    assert load_rules(good) == [
        LinkRule(label="KR-2026Q4-*", kind="measures"),
        LinkRule(keyword="photo", key_result="KR-2026Q4-1"),
    ]

    typo = tmp_path / "typo.yaml"
    typo.write_text("rules:\n  - label: 'KR-*'\n  - lable: 'OKR-*'\n", encoding="utf-8")
    with pytest.raises(InvalidConfig) as unknown:
        load_rules(typo)
    assert str(unknown.value.where).startswith(f"{typo}:3") and "did you mean 'label'" in str(unknown.value)

    both = tmp_path / "both.yaml"
    both.write_text("rules:\n  - label: 'KR-*'\n    keyword: photo\n  - keyword: photo\n", encoding="utf-8")
    with pytest.raises(InvalidConfig) as bad:
        load_rules(both)
    lines = [p.where.split(":")[1] for p in bad.value.problems]
    assert lines == ["2", "4"], bad.value.problems
    assert "exactly one" in bad.value.problems[0].message and "key_result" in bad.value.problems[1].message

    kind = tmp_path / "kind.yaml"
    kind.write_text("rules:\n  - label: x\n    kind: counts\n", encoding="utf-8")
    with pytest.raises(InvalidConfig) as wrong:
        load_rules(kind)
    assert f"{kind}:3" in str(wrong.value.where) and "measures" in str(wrong.value)


async def test_an_import_applies_its_rules(store: Store, tmp_path: Path) -> None:
    seed(store)
    sheet = tmp_path / "work.csv"
    sheet.write_text(
        "id,title,labels,done\nT-1,Photo checks,KR-2026Q4-1;ops,yes\nT-2,Wait times,KR-2026Q4-2,no\n", encoding="utf-8"
    )
    result = await import_work(store, CsvImporter(CsvSettings(path=sheet)), [LinkRule(label="KR-*", kind="measures")])
    assert (result.inserted, len(result.links.made)) == (2, 2)
    assert pairs(store) == {
        ("T-1", "KR-2026Q4-1", "measures", "label:KR-*"),
        ("T-2", "KR-2026Q4-2", "measures", "label:KR-*"),
    }
