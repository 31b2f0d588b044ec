"""Which cases may be shown to a model to improve a feature: an end user's own ``improve`` consent is honoured.

A case exported from the review queue (``andon review export``) carries the review item's id, and the item its
trace's end user. Such a case is sent to a model (to revise a prompt or to draft new cases) only when that user
(else their tenant) has allowed ``improve``. A case tagged ``from-review`` whose item is gone is held back too:
its end user cannot be asked any more. Cases written by people, with no production origin, are not held back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from andon.evals.model import Case
from andon.store import Store

__all__ = ["FROM_REVIEW_TAG", "ConsentedCases", "consented_cases"]

FROM_REVIEW_TAG = "from-review"  # the tag review export gives every case it writes


@dataclass(frozen=True, slots=True)
class ConsentedCases:
    """The cases a model may see, and the ids held back because their end user has not consented."""

    allowed: list[Case] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)


def consented_cases(store: Store, cases: Sequence[Case]) -> ConsentedCases:
    """Split ``cases`` into those a model may see for improvement and those withheld (no ``improve`` consent)."""
    links = store.review_item_traces([c.id for c in cases])
    traced = [trace_id for trace_id in links.values() if trace_id]
    consented = store.consented_traces(traced, "improve") if traced else set()
    allowed: list[Case] = []
    withheld: list[str] = []
    for case in cases:
        if case.id in links:
            trace_id = links[case.id]
            # An item without a trace has no end user to ask: as in review export, the admin's grant decides.
            ok = trace_id is None or trace_id in consented
        else:
            ok = FROM_REVIEW_TAG not in case.tags
        if ok:
            allowed.append(case)
        else:
            withheld.append(case.id)
    return ConsentedCases(allowed, withheld)
