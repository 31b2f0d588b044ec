"""Run an importer into the store: fetch what changed since the stored cursor, upsert, move the cursor, link.

The cursor moves only after the items are stored, so a failed import is simply run again; the upsert is
keyed by (source, external id), so running it again never duplicates an item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from andon.okr.work.base import WorkImporter
from andon.okr.work.links import LinkRule, RuleReport, apply_rules
from andon.store import Store


@dataclass(frozen=True)
class ImportResult:
    """What one import did."""

    source: str
    fetched: int
    inserted: int
    updated: int
    unchanged: bool  # the tracker said nothing changed (ETag 304, the same CSV file)
    requests: int
    waits: tuple[float, ...]
    links: RuleReport


async def import_work(store: Store, importer: WorkImporter, rules: Sequence[LinkRule] = ()) -> ImportResult:
    """Import what changed since the last run of ``importer``, then apply the link ``rules``."""
    batch = await importer.fetch(store.import_cursor(importer.cursor_name))
    inserted = updated = 0
    if not batch.unchanged:
        inserted, updated = store.upsert_work_items(batch.items)
        if batch.cursor is not None:
            store.set_import_cursor(importer.cursor_name, batch.cursor)
    report = apply_rules(store, rules, store.work_items(importer.source)) if rules else RuleReport()
    return ImportResult(
        source=importer.source, fetched=len(batch.items), inserted=inserted, updated=updated,
        unchanged=batch.unchanged, requests=batch.requests, waits=batch.waits, links=report,
    )  # fmt: skip
