"""Finishing a run that waited for a person's approval of a tool call (issue 14): one transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import update

from andon.store._base import StoreBase
from andon.store.models import OutputRow, ReviewItemRow, TraceRow
from andon.store.records import OutputRecord, ReviewItem, TraceRecord
from andon.store.reviews import review_row
from andon.store.spans import SpanRecord, delete_spans, insert_spans

_OUTPUT_FIELDS = tuple(f.name for f in dataclasses.fields(OutputRecord))


class ApprovalsMixin(StoreBase):
    """Resumed tool approvals (methods of :class:`andon.store.Store`)."""

    def finish_parked_trace(
        self,
        trace: TraceRecord,
        *,
        parked_output_id: str | None,
        output: OutputRecord,
        review_id: str,
        decision: Any,
        review_items: Sequence[ReviewItem] = (),
        spans_of: Callable[[TraceRecord, Sequence[OutputRecord]], list[SpanRecord]],
    ) -> bool:
        """Store a resumed run: its output, the trace's new answer, spans and decision; False if resumed before.

        The trace is updated only while it still points at the parked output (a compare-and-set), so two
        resumes of one decision never both land. The parked output loses its resume state (``parked``).
        """
        columns = {c.name for c in TraceRow.__table__.columns} - {"id", "created_at", "input", "input_hash"}
        values = {name: getattr(trace, name) for name in columns if hasattr(trace, name)}
        with self._write() as session:
            won = session.execute(
                update(TraceRow)
                .where(TraceRow.id == trace.id, TraceRow.output_id == parked_output_id)
                .values(**values)
                .returning(TraceRow.id)
                .execution_options(synchronize_session=False)
            ).first()
            if won is None:
                return False
            old = session.get(OutputRow, parked_output_id) if parked_output_id is not None else None
            if old is not None:  # the state a resume needed (messages, variables) is not kept once it resumed
                old.steps = [{k: v for k, v in step.items() if k != "parked"} for step in old.steps]
            session.add(OutputRow(**{name: getattr(output, name) for name in _OUTPUT_FIELDS}))
            session.add_all(ReviewItemRow(**review_row(item)) for item in review_items)
            session.execute(
                update(ReviewItemRow)
                .where(ReviewItemRow.id == review_id)
                .values(decision=decision)
                .execution_options(synchronize_session=False)
            )
            delete_spans(session, [trace.id])  # the whole tree again: the resumed step's calls are in it once
            insert_spans(session, spans_of(trace, [output]))
        return True
