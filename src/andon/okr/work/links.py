"""Links between work items and key results: by hand, or by a label/keyword rule; and the two gap reports.

A link is ``measures`` (the item's progress moves the key result) or ``contributes`` (shown, not counted).
A rule links every item whose label matches a pattern (``KR-2026Q4-*``: each matching label names the key
result with that key, unless the rule names one) or whose title holds a keyword. Applying rules again
adds what now matches and removes the links those rules made that no longer match; links made by hand
are never touched by a rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from andon.errors import NotFoundError
from andon.messages import t
from andon.store import Store
from andon.store.okr import KeyResult, WorkItem, WorkLink

LinkKind = Literal["measures", "contributes"]
KINDS: tuple[LinkKind, ...] = ("measures", "contributes")


class LinkRule(BaseModel):
    """Link items whose label matches ``label`` (a glob) or whose title holds ``keyword`` to a key result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = Field(default=None, min_length=1, description="a label glob, e.g. KR-2026Q4-*")
    keyword: str | None = Field(default=None, min_length=1, description="words the title holds (any case)")
    key_result: str | None = Field(default=None, description="the key result (key or id); default: the label's")
    kind: LinkKind = "contributes"
    source: str | None = Field(default=None, description="only items of this source (jira, github, csv)")

    @model_validator(mode="after")
    def _one_match(self) -> LinkRule:
        if (self.label is None) == (self.keyword is None):
            raise ValueError(t("okr_work.rule.one_match"))
        if self.keyword is not None and not self.key_result:
            raise ValueError(t("okr_work.rule.keyword_needs_kr"))
        return self

    @property
    def name(self) -> str:
        """The rule as stored on the links it makes, e.g. ``label:KR-2026Q4-*``."""
        match = f"label:{self.label}" if self.label is not None else f"keyword:{self.keyword}"
        return match + (f"->{self.key_result}" if self.key_result else "")

    def targets(self, item: WorkItem) -> list[str]:
        """The key-result references this rule links ``item`` to (none when it does not match)."""
        if self.source is not None and item.source != self.source:
            return []
        if self.keyword is not None:
            return [self.key_result or ""] if self.keyword.lower() in item.title.lower() else []
        pattern = (self.label or "").lower()
        matched = [label for label in item.labels if fnmatch.fnmatchcase(label.lower(), pattern)]
        if not matched:
            return []
        return [self.key_result] if self.key_result else matched


@dataclass
class RuleReport:
    """What applying rules did: links made and removed, and labels that name no key result."""

    made: list[WorkLink] = field(default_factory=list)
    removed: list[WorkLink] = field(default_factory=list)
    unresolved: dict[str, list[str]] = field(default_factory=dict)  # key-result reference → external ids


def apply_rules(store: Store, rules: Sequence[LinkRule], items: Iterable[WorkItem] | None = None) -> RuleReport:
    """Make the links ``rules`` call for over ``items`` (default: every work item), drop those they no longer do."""
    report = RuleReport()
    scope = list(store.work_items() if items is None else items)
    krs: dict[str, KeyResult | None] = {}
    for rule in rules:  # a key result a rule names must exist: that is the user's typo, not the tracker's
        if rule.key_result and rule.key_result not in krs:
            try:
                krs[rule.key_result] = store.key_result(rule.key_result)
            except NotFoundError as exc:
                raise NotFoundError(
                    exc.message, where=t("okr_work.rule.where", rule=rule.name), hint=exc.hint
                ) from None
    wanted: dict[tuple[str, str], tuple[LinkKind, str]] = {}
    for item in scope:
        for rule in rules:
            for ref in rule.targets(item):
                if ref not in krs:
                    krs[ref] = _by_key(store, ref)
                kr = krs[ref]
                if kr is None:
                    report.unresolved.setdefault(ref, []).append(item.external_id)
                    continue
                wanted.setdefault((item.id, kr.id), (rule.kind, rule.name))
    names = {rule.name for rule in rules}
    in_scope = {item.id for item in scope}
    for link in store.work_links():
        pair = (link.work_item, link.key_result)
        if link.rule in names and link.work_item in in_scope and pair not in wanted:
            store.unlink_work(link.work_item, link.key_result)
            report.removed.append(link)
    for (work_id, kr_id), (kind, name) in wanted.items():
        if store.link_work(work_id, kr_id, kind, rule=name):
            report.made.append(WorkLink(work_item=work_id, key_result=kr_id, kind=kind, rule=name))
    return report


def _by_key(store: Store, label: str) -> KeyResult | None:
    """The key result a label names: its key (or id) exactly, never a mere id prefix."""
    try:
        kr = store.key_result(label)
    except NotFoundError:
        return None
    return kr if label in (kr.key, kr.id) else None


def find_work_item(store: Store, ref: str) -> WorkItem:
    """A work item by id (``wi_…``), ``source:external_id``, or an external id that only one source has."""
    items = store.work_items()
    source, _, external = ref.partition(":")
    found = [i for i in items if i.id == ref] or [
        i for i in items if external and (i.source, i.external_id) == (source, external)
    ]
    found = found or [i for i in items if i.external_id == ref]
    if len(found) == 1:
        return found[0]
    if found:
        where = ", ".join(f"{i.source}:{i.external_id}" for i in found)
        raise NotFoundError(t("okr_work.work_ambiguous", ref=ref, found=where), hint=t("okr_work.work_ambiguous_hint"))
    raise NotFoundError(t("okr_work.work_not_found", ref=ref), hint=t("okr_work.work_not_found_hint"))


def find_key_result(store: Store, ref: str) -> KeyResult:
    """A key result by key, id or unique id prefix; an unknown one is an error saying how to list them."""
    return store.key_result(ref)


def link(store: Store, work_ref: str, kr_ref: str, kind: LinkKind = "contributes") -> tuple[WorkItem, KeyResult, bool]:
    """Link one work item to one key result by hand; False when that link was there already."""
    item, kr = find_work_item(store, work_ref), find_key_result(store, kr_ref)
    return item, kr, store.link_work(item.id, kr.id, kind)


def unlink(store: Store, work_ref: str, kr_ref: str) -> tuple[WorkItem, KeyResult, bool]:
    """Remove the link between a work item and a key result; False when there was none."""
    item, kr = find_work_item(store, work_ref), find_key_result(store, kr_ref)
    return item, kr, bool(store.unlink_work(item.id, kr.id))


@dataclass(frozen=True)
class LinkedWork:
    """A work item with the key results it is linked to."""

    item: WorkItem
    links: tuple[WorkLink, ...]


def work(
    store: Store, *, source: str | None = None, key_result: str | None = None, unlinked: bool = False
) -> list[LinkedWork]:
    """Work items with their links: all, those of one key result, or (``unlinked``) those linked to none."""
    kr_id = find_key_result(store, key_result).id if key_result else None
    links: dict[str, list[WorkLink]] = {}
    for found in store.work_links(key_result=kr_id) if kr_id else store.work_links():
        links.setdefault(found.work_item, []).append(found)
    rows = [LinkedWork(i, tuple(links.get(i.id, ()))) for i in store.work_items(source)]
    if kr_id:
        rows = [r for r in rows if r.links]
    if unlinked:
        rows = [r for r in rows if not r.links]
    return sorted(rows, key=lambda r: (r.item.source, _natural(r.item.external_id)))


def key_results_without_work(store: Store, *, period: str | None = None) -> list[KeyResult]:
    """Key results (of ``period``, or all) that no work item is linked to."""
    linked = {found.key_result for found in store.work_links()}
    return [kr for kr in store.key_results(period=period) if kr.id not in linked]


def _natural(text: str) -> tuple[str, int, str]:
    """``MENU-9`` before ``MENU-10``: the trailing number compared as a number."""
    head = text.rstrip("0123456789")
    tail = text[len(head) :]
    return (head, int(tail) if tail else -1, text)
