"""End users' own choices and requests in the store: consent per user or tenant, deletion of a user's traces.

Consent is off until the user (or their tenant) says yes. A user's own row wins over their tenant's; a
trace with neither a user nor a tenant has no end user to ask, so the feature's admin grant alone decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, or_, select

from andon.store._base import StoreBase
from andon.store.models import (
    ConsentRow,
    FeedbackRow,
    OutputRow,
    ReviewItemRow,
    SemanticCacheRow,
    TraceRow,
    utcnow,
)

ConsentKind = Literal["user", "tenant"]
ConsentUse = Literal["cases", "improve"]
_CHUNK = 500  # ids per IN (...) list, well under every backend's parameter limit


@dataclass(frozen=True, slots=True)
class Consent:
    """What one user or tenant allows; ``updated_at`` None means they never chose (so: nothing allowed)."""

    kind: ConsentKind
    subject: str
    cases: bool = False
    improve: bool = False
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeletedCounts:
    """What deleting a user's traces removed."""

    traces: int = 0
    outputs: int = 0
    feedback: int = 0
    review_items: int = 0
    cache_entries: int = 0
    # The deleted cache entries' ids, so a running gateway drops them from its in-memory index too.
    cache_ids: tuple[int, ...] = field(default=(), repr=False)


def _consent(row: ConsentRow) -> Consent:
    kind: ConsentKind = "tenant" if row.kind == "tenant" else "user"
    return Consent(kind, row.subject, bool(row.cases), bool(row.improve), row.updated_by, row.updated_at)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class TrustMixin(StoreBase):
    """Consent and deletion per end user (methods of :class:`andon.store.Store`)."""

    def get_consent(self, kind: ConsentKind, subject: str) -> Consent:
        """The stored choice of a user or tenant; off (never chosen) when there is none."""
        with self._read() as session:
            row = session.get(ConsentRow, (kind, subject))
            return _consent(row) if row is not None else Consent(kind, subject)

    def set_consent(
        self, kind: ConsentKind, subject: str, *, cases: bool, improve: bool, actor: str | None = None
    ) -> Consent:
        """Record a user's or tenant's choice (replacing the last one)."""
        with self._write() as session:
            row = session.get(ConsentRow, (kind, subject))
            if row is None:
                row = ConsentRow(kind=kind, subject=subject)
                session.add(row)
            row.cases, row.improve, row.updated_by, row.updated_at = cases, improve, actor, utcnow()
            session.flush()
            return _consent(row)

    def consented_traces(self, trace_ids: Iterable[str], use: ConsentUse) -> set[str]:
        """Which of ``trace_ids`` their end user (else their tenant) allowed for ``use``.

        A trace with neither user nor tenant counts as allowed (no one to ask); a trace that is gone
        (pruned or deleted) does not: its end user cannot be known any more.
        """
        ids = list(dict.fromkeys(trace_ids))
        allowed: set[str] = set()
        with self._read() as session:
            for start in range(0, len(ids), _CHUNK):
                traces = session.execute(
                    select(TraceRow.id, TraceRow.user_id, TraceRow.tenant).where(
                        TraceRow.id.in_(ids[start : start + _CHUNK])
                    )
                ).all()
                users = {user for _, user, _ in traces if user}
                tenants = {tenant for _, _, tenant in traces if tenant}
                choices: dict[tuple[str, str], bool] = {}
                for kind, subjects in (("user", users), ("tenant", tenants)):
                    if subjects:
                        rows = session.scalars(
                            select(ConsentRow).where(ConsentRow.kind == kind, ConsentRow.subject.in_(subjects))
                        )
                        choices.update({(kind, row.subject): bool(getattr(row, use)) for row in rows})
                for trace_id, user, tenant in traces:
                    if not user and not tenant:
                        allowed.add(trace_id)
                    elif user and ("user", user) in choices:
                        if choices[("user", user)]:
                            allowed.add(trace_id)
                    elif tenant and choices.get(("tenant", tenant), False):
                        allowed.add(trace_id)
        return allowed

    def delete_user_traces(self, user_id: str, *, tenant: str | None = None) -> DeletedCounts:
        """Delete every trace of ``user_id`` (of ``tenant`` only, when given) with what holds its data.

        Goes with them: their outputs (provenance), feedback on them and the user's feedback elsewhere,
        their review items and the cached answers made from them. Other traces and their outputs stay.
        """
        totals = DeletedCounts()
        conditions = [TraceRow.user_id == user_id]
        if tenant is not None:
            conditions.append(TraceRow.tenant == tenant)
        while True:
            with self._write() as session:
                chunk = session.execute(select(TraceRow.id, TraceRow.output_id).where(*conditions).limit(_CHUNK)).all()
                trace_ids = [trace_id for trace_id, _ in chunk]
                output_ids = [output_id for _, output_id in chunk if output_id]
                feedback = session.execute(
                    delete(FeedbackRow).where(
                        or_(FeedbackRow.trace_id.in_(trace_ids), FeedbackRow.user_id == user_id)
                        if tenant is None
                        else FeedbackRow.trace_id.in_(trace_ids)
                    )
                )
                reviews = session.execute(delete(ReviewItemRow).where(ReviewItemRow.trace_id.in_(trace_ids)))
                cache_ids = session.scalars(
                    delete(SemanticCacheRow)
                    .where(SemanticCacheRow.trace_id.in_(trace_ids))
                    .returning(SemanticCacheRow.id)
                ).all()
                outputs = session.execute(delete(OutputRow).where(OutputRow.id.in_(output_ids)))
                traces = session.execute(delete(TraceRow).where(TraceRow.id.in_(trace_ids)))
                totals = DeletedCounts(
                    totals.traces + _count(traces),
                    totals.outputs + _count(outputs),
                    totals.feedback + _count(feedback),
                    totals.review_items + _count(reviews),
                    totals.cache_entries + len(cache_ids),
                    (*totals.cache_ids, *cache_ids),
                )
            if len(chunk) < _CHUNK:
                return totals


__all__ = ["Consent", "ConsentKind", "ConsentUse", "DeletedCounts", "TrustMixin"]
