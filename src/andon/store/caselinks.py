"""Where a dataset case came from in production: the review item (and so the trace) a case was exported from."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from andon.store._base import StoreBase
from andon.store.models import ReviewItemRow

_CHUNK = 500  # ids per IN (...) list, well under every backend's parameter limit


class CaseLinksMixin(StoreBase):
    """Review items behind dataset cases (methods of :class:`andon.store.Store`)."""

    def review_item_traces(self, case_ids: Iterable[str]) -> dict[str, str | None]:
        """For each of ``case_ids`` that is a review item's id (as ``andon review export`` writes), its trace id."""
        ids = list(dict.fromkeys(case_ids))
        found: dict[str, str | None] = {}
        with self._read() as session:
            for start in range(0, len(ids), _CHUNK):
                rows = session.execute(
                    select(ReviewItemRow.id, ReviewItemRow.trace_id).where(
                        ReviewItemRow.id.in_(ids[start : start + _CHUNK])
                    )
                )
                found.update({review_id: trace_id for review_id, trace_id in rows})
        return found


__all__ = ["CaseLinksMixin"]
