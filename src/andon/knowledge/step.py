"""The ``retrieve`` step: search a knowledge base with the case's query; the chunks become the template
variable ``chunks`` of the steps after it, and their ids go into the output's provenance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from andon.config.schema import Step
from andon.engine.pipeline import ProviderLookup, StepRecord
from andon.errors import AndonError
from andon.knowledge.chunking import citation
from andon.knowledge.retrieval import search
from andon.messages import t
from andon.store import Store
from andon.versions.canonical import RETRIEVE_PROVIDER
from andon.versions.render import render_template


async def run_retrieve(step: Step, scope: dict[str, Any], providers: ProviderLookup) -> StepRecord:
    """Search, put ``chunks`` into the scope, and record the query, the base's content hash and the chunk ids."""
    assert step.retrieve is not None
    spec = step.retrieve
    started = datetime.now(UTC)
    params = {"k": spec.k, "mode": spec.mode}
    record = StepRecord(step.name, RETRIEVE_PROVIDER, spec.knowledge, params, [], started, started)
    store = getattr(providers, "store", None)
    if not isinstance(store, Store):
        raise AndonError(t("knowledge.step.no_store"), where=f"steps.{step.name}")
    query = render_template(spec.query, scope, where=f"steps.{step.name}.retrieve.query")
    hits = await asyncio.to_thread(search, store, spec.knowledge, query, k=spec.k, mode=spec.mode)
    base = store.knowledge_get(spec.knowledge)
    scope["chunks"] = [
        {"id": h.chunk.id, "text": h.chunk.text, "source": h.chunk.source_path, "section": h.chunk.section,
         "anchors": h.chunk.anchors, "citation": citation(h.chunk), "score": h.score}
        for h in hits
    ]  # fmt: skip
    ids = [h.chunk.id for h in hits]
    record.messages = [{"role": "user", "content": query}]
    # The chunks as retrieved (not only their ids): graders judge the answer against what the model was shown,
    # even after the knowledge base has changed.
    shown = [{k: c[k] for k in ("id", "source", "section", "citation", "text")} for c in scope["chunks"]]
    record.parsed = {
        "knowledge": spec.knowledge, "content_hash": base.content_hash if base else None, "chunk_ids": ids,
        "chunks": shown,
    }  # fmt: skip
    record.text = "\n".join(ids)
    record.finished_at = datetime.now(UTC)
    record.latency_ms = (record.finished_at - started).total_seconds() * 1000
    return record
